import Foundation
import Testing

@testable import ReplylineCore

@Suite("Rules loader")
struct RulesLoaderTests {
    static let valid = """
        business:
          name: Test Salon
          phone: "+15550001111"
          time_zone: America/Chicago
        keywords:
          confirm: [C]
          opt_out: [STOP]
          opt_in: [START]
          help: [HELP]
        replies:
          confirmed: ok
          already_confirmed: ok
          reschedule_requested: ok
          cancelled: ok
          already_cancelled: ok
          appointment_closed: ok
          no_appointment: ok
          opted_out: ok
          opted_in: ok
          help: "[Business] help. Msg&data rates may apply. Reply STOP to opt out."
          confirmation_request: "Reply C to confirm. Reply STOP to opt out."
          reminder: "Reminder. Reply STOP to opt out."
        """

    func errors(_ yaml: String) -> [RulesError] {
        do {
            _ = try RulesLoader.load(yaml: yaml, file: "salon.yml")
            return []
        } catch let error as RulesLoadError {
            return error.errors
        } catch {
            return [RulesError(file: "", line: nil, message: "\(error)", fix: "")]
        }
    }

    @Test("The shipped rules load")
    func shipped() {
        #expect(Shipped.rules.business.name == "Bright Smile Dental")
        #expect(Shipped.rules.keywords[.optOut]?.contains("STOP ALL") == true)
    }

    @Test("A minimal valid file loads with defaults")
    func minimal() throws {
        let rules = try RulesLoader.load(yaml: Self.valid, file: "salon.yml")
        #expect(rules.business.timeZone.identifier == "America/Chicago")
        #expect(rules.business.opensAt == 9 * 60)
        #expect(rules.replies.unrecognized == nil)
    }

    @Test("An unknown variable is an error with its line and a fix")
    func unknownVariable() {
        let found = errors(Self.valid.replacingOccurrences(of: "opted_in: ok", with: "opted_in: \"Welcome back to [Salon]\""))
        #expect(found.count == 1)
        #expect(found.first?.line == 19)
        #expect(found.first?.message.contains("[Salon]") == true)
        #expect(found.first?.fix.contains("[CustomerName]") == true)
    }

    @Test("A missing reply is an error naming the reply")
    func missingReply() {
        let found = errors(Self.valid.replacingOccurrences(of: "  reminder: \"Reminder. Reply STOP to opt out.\"", with: ""))
        #expect(found.map(\.message) == ["reply `reminder` is missing"])
    }

    @Test("A keyword under two intents is an error at its line")
    func duplicateKeyword() {
        let found = errors(Self.valid.replacingOccurrences(of: "help: [HELP]", with: "help: [HELP, c]"))
        #expect(found.count == 1)
        #expect(found.first?.line == 9)
        #expect(found.first?.message.contains("`C`") == true)
    }

    @Test("A bad time zone is an error with a fix")
    func badTimeZone() {
        let found = errors(Self.valid.replacingOccurrences(of: "America/Chicago", with: "Central"))
        #expect(found.first?.line == 4)
        #expect(found.first?.fix.contains("IANA") == true)
    }

    @Test("Broken YAML reports its line")
    func brokenYAML() {
        let found = errors("business:\n  name: [unclosed\n")
        #expect(found.count == 1)
        #expect(found.first?.message.contains("not valid YAML") == true)
    }

    @Test("Problems are reported in file order, whichever section is read first")
    func fileOrder() {
        let yaml = Self.valid.replacingOccurrences(of: "America/Chicago", with: "Nowhere/Land")
            .replacingOccurrences(of: "replies:\n", with: "reminders:\n  - hours_before: 24\n    reply: reminder_week\nreplies:\n")
            .replacingOccurrences(of: "opted_in: ok", with: "opted_in: \"[Nope]\"")
        #expect(errors(yaml).map(\.line) == [4, 12, 22])
    }

    @Test("[Address] and <address> render `business.address`; a reply or custom keyword using it without one is an error at its line")
    func address() throws {
        let custom = "\ncustom:\n  WHERE: \"We are at <address>.\""
        let withAddress = Self.valid.replacingOccurrences(
            of: "  time_zone: America/Chicago", with: "  time_zone: America/Chicago\n  address: \"12 Oak St\"")
        let yaml = withAddress.replacingOccurrences(of: "opted_in: ok", with: "opted_in: \"Welcome back to [Address].\"") + custom
        let rules = try RulesLoader.load(yaml: yaml, file: "salon.yml")
        #expect(rules.business.address == "12 Oak St")
        let engine = ConversationEngine(rules: rules)
        #expect(engine.render(rules.replies.optedIn, contact: ContactSnapshot(), appointment: nil) == "Welcome back to 12 Oak St.")
        #expect(engine.render(rules.custom["WHERE"]!, contact: ContactSnapshot(), appointment: nil) == "We are at 12 Oak St.")

        let found = errors(Self.valid.replacingOccurrences(of: "opted_in: ok", with: "opted_in: \"Welcome back to [Address].\"") + custom)
        #expect(
            Set(found.map { "\($0.line ?? 0) \($0.message)" }) == [
                "19 `replies.opted_in` uses [Address], but `business.address` is not set",
                "24 `custom.WHERE` uses [Address], but `business.address` is not set",
            ])
        #expect(found.allSatisfy { $0.fix.contains("`address: \"1200 Main St, Suite 4\"`") })
        let empty = errors(withAddress.replacingOccurrences(of: "address: \"12 Oak St\"", with: "address: \"\""))
        #expect(empty.map(\.message) == ["`business.address` must be a non-empty text"])
        #expect(empty.first?.line == 5)
    }

    @Test("Every problem is reported, not just the first")
    func allProblems() {
        let yaml = Self.valid.replacingOccurrences(of: "America/Chicago", with: "Nowhere/Land")
            .replacingOccurrences(of: "opted_in: ok", with: "opted_in: \"[Nope]\"")
        #expect(errors(yaml).count == 2)
    }
}

@Suite("Rules files under Tests/Rules")
struct RulesFileTests {
    static let folder = Shipped.rulesURL.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Rules")

    func errors(_ name: String) -> [RulesError] {
        do {
            _ = try RulesLoader.load(contentsOf: Self.folder.appendingPathComponent(name))
            return []
        } catch let error as RulesLoadError {
            return error.errors
        } catch {
            return []
        }
    }

    @Test(
        "Each broken file fails with its file, line and a fix",
        arguments: [
            ("broken-unknown-variable.yml", 39, "unknown variable [Salon]"),
            ("broken-missing-reply.yml", 29, "reply `already_cancelled` is missing"),
            ("broken-duplicate-keyword.yml", 20, "keyword `CHANGE` is listed under both `reschedule` and `help`"),
            ("broken-time-zone.yml", 7, "unknown time zone `Central Time`"),
        ])
    func broken(name: String, line: Int, message: String) {
        let found = errors(name)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.file.hasSuffix(name) == true)
        #expect(found.first?.line == line)
        #expect(found.first?.message.contains(message) == true, "\(found.first?.message ?? "")")
        #expect(found.first?.fix.isEmpty == false)
    }

    @Test(
        "The shipped rules load with no warning; default.yml's CANCEL for appointments is an accepted note",
        arguments: ["default.yml", "salon.yml"])
    func shipped(name: String) throws {
        let rules = try RulesLoader.load(contentsOf: Shipped.rulesURL.deletingLastPathComponent().appendingPathComponent(name))
        let warnings = RulesLinter.lint(rules)
        #expect(!warnings.contains { !$0.accepted }, "\(warnings)")
        #expect(warnings.count == (name == "default.yml" ? 1 : 0), "\(warnings)")
        if name == "default.yml" {
            #expect(warnings.first?.message.hasPrefix("`CANCEL` is a carrier opt-out word used for `cancel`") == true)
            #expect(warnings.first?.description.contains(": note: ") == true)
        }
    }

    @Test("`lint.accept` turns only the named setting's warnings into notes, and must name settings")
    func acceptedWarnings() throws {
        var yaml = try String(contentsOf: Shipped.rulesURL, encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "accept: [keywords.cancel]", with: "accept: [keywords.reschedule]")
        let rules = try RulesLoader.load(yaml: yaml, file: "default.yml")
        #expect(RulesLinter.lint(rules).map(\.accepted) == [false])
        let broken = yaml.replacingOccurrences(of: "accept: [keywords.reschedule]", with: "accept: everything")
        #expect(throws: RulesLoadError.self) { try RulesLoader.load(yaml: broken, file: "default.yml") }
    }

    @Test("The linter finds each kind of problem, at its line")
    func lint() throws {
        let rules = try RulesLoader.load(contentsOf: Self.folder.appendingPathComponent("lint-warnings.yml"))
        let warnings = RulesLinter.lint(rules)
        func has(_ fragment: String, line: Int) {
            #expect(
                warnings.contains { $0.message.contains(fragment) && $0.line == line },
                "no warning with \(fragment) at line \(line): \(warnings)")
        }
        has("`QUIT` is a carrier opt-out word used for `reschedule`", line: 14)
        has("tells customers to reply CANCEL", line: 29)
        has("`replies.confirmation_request` takes 2 segments", line: 29)
        has("asks for an answer but gives no opt-out instructions", line: 29)
        has("contains `’`", line: 40)
        has(
            "HELP text is missing the business name ([Business]), how to reach a person ([Phone]), \"Msg&data rates may apply\", STOP instructions",
            line: 40)
        // A reminder_<word> reply is linted as `reminder` is.
        has("`replies.reminder_same_day` takes 2 segments", line: 42)
        has("`replies.reminder_same_day` is an automated reminder but gives no opt-out instructions", line: 42)
        has("`replies.reminder_same_day` does not say who it is from", line: 42)
        #expect(warnings.count == 9)
    }

    @Test("Lint counts a reply's longest realistic expansion, not its template text")
    func expansion() throws {
        var rules = Shipped.rules
        rules.replies.confirmed = try Template(String(repeating: "x", count: 130) + " [CustomerName]")
        #expect(RulesLinter.lint(rules).contains { $0.message.hasPrefix("`replies.confirmed` takes 2 segments") })
        rules.replies.confirmed = try Template(String(repeating: "x", count: 160))
        #expect(!RulesLinter.lint(rules).contains { $0.message.hasPrefix("`replies.confirmed`") })
    }
}

@Suite("Reminders and the address in a rules file")
struct ReminderRulesTests {
    /// The minimal valid file with a same-day reminder reply (line 23) and the list form (24-28).
    static let listForm =
        RulesLoaderTests.valid + """

              reminder_same_day: "[Business]: [Service] today at [Time]. Reply STOP to opt out."
            reminders:
              - hours_before: 24
                reply: reminder
              - morning_of: "07:00"
                reply: reminder_same_day
            """

    func load(_ yaml: String) throws -> Rules { try RulesLoader.load(yaml: yaml, file: "salon.yml") }

    func errors(_ yaml: String) -> [RulesError] {
        do {
            _ = try load(yaml)
            return []
        } catch let error as RulesLoadError {
            return error.errors
        } catch {
            return [RulesError(file: "", line: nil, message: "\(error)", fix: "")]
        }
    }

    @Test("The list form gives each reminder its timing and its reply, in file order")
    func listForm() throws {
        let rules = try load(Self.listForm)
        #expect(
            rules.reminders.map(\.description) == ["24 hours before (replies.reminder)", "at 07:00 on the day (replies.reminder_same_day)"])
        #expect(rules.reminders.map(\.template) == [rules.replies.reminder, rules.replies.otherReminders["reminder_same_day"]!])
        let other = Self.listForm.replacingOccurrences(of: "hours_before: 24", with: "morning_of: \"08:30\"")
            .replacingOccurrences(of: "morning_of: \"07:00\"", with: "hours_before: 2.5")
        #expect(
            try load(other).reminders.map(\.description) == [
                "at 08:30 on the day (replies.reminder)", "2.5 hours before (replies.reminder_same_day)",
            ])
        let none = RulesLoaderTests.valid + "\nreminders: []"
        #expect(try load(none).reminders.isEmpty)
    }

    @Test("Without `reminders`: 24 hours before and 07:00 on the day, with `reminder_same_day` when the replies have one")
    func defaults() throws {
        #expect(
            try load(RulesLoaderTests.valid).reminders.map(\.description) == [
                "24 hours before (replies.reminder)", "at 07:00 on the day (replies.reminder)",
            ])
        let sameDay = RulesLoaderTests.valid + "\n  reminder_same_day: \"Today at [Time]. Reply STOP to opt out.\""
        #expect(
            try load(sameDay).reminders.map(\.description) == [
                "24 hours before (replies.reminder)", "at 07:00 on the day (replies.reminder_same_day)",
            ])
    }

    @Test("The mapping form still works: `morning_of` sends `reminder_same_day` when the replies have one, null or 0 turns one off")
    func mappingForm() throws {
        let mapping = RulesLoaderTests.valid + "\nreminders:\n  hours_before: 48\n  morning_of: \"06:45\""
        #expect(
            try load(mapping).reminders.map(\.description) == [
                "48 hours before (replies.reminder)", "at 06:45 on the day (replies.reminder)",
            ])
        let sameDay = mapping.replacingOccurrences(
            of: "\nreminders:", with: "\n  reminder_same_day: \"Today at [Time]. Reply STOP to opt out.\"\nreminders:")
        #expect(
            try load(sameDay).reminders.map(\.description) == [
                "48 hours before (replies.reminder)", "at 06:45 on the day (replies.reminder_same_day)",
            ])
        let morningOff = mapping.replacingOccurrences(of: "morning_of: \"06:45\"", with: "morning_of: null")
        #expect(try load(morningOff).reminders.map(\.description) == ["48 hours before (replies.reminder)"])
        let hoursOff = mapping.replacingOccurrences(of: "hours_before: 48", with: "hours_before: 0")
        #expect(try load(hoursOff).reminders.map(\.description) == ["at 06:45 on the day (replies.reminder)"])
    }

    @Test(
        "Each mistake in `reminders` or a reminder reply is one error at its line, saying what is wrong",
        arguments: [
            (
                "    reply: reminder_same_day", "    reply: reminder_week", 28,
                "the reminder's reply `reminder_week` is not under `replies:`"
            ),
            ("    reply: reminder\n", "    reply: confirmed\n", 26, "`reply: confirmed` is not a reminder reply"),
            ("\n    reply: reminder_same_day", "", 27, "this reminder names no reply"),
            ("  - hours_before: 24\n    reply: reminder", "  - reply: reminder", 25, "this reminder does not say when it goes"),
            ("    reply: reminder\n", "    morning_of: \"08:00\"\n    reply: reminder\n", 25, "a reminder has one timing"),
            ("hours_before: 24", "hours_before: soon", 25, "reminders.hours_before must be a number of hours"),
            ("hours_before: 24", "hours_before: 0", 25, "reminders.hours_before must be a number of hours"),
            ("morning_of: \"07:00\"", "morning_of: 7am", 27, "reminders.morning_of must be a time like \"07:00\""),
            ("    reply: reminder\n", "    reply: reminder\n    subject: Soon\n", 27, "unknown reminder setting `subject`"),
            ("  - hours_before: 24\n    reply: reminder", "  - 24", 25, "each reminder must be a mapping"),
            (
                "reminders:\n  - hours_before: 24\n    reply: reminder\n  - morning_of: \"07:00\"\n    reply: reminder_same_day",
                "reminders: daily", 24, "`reminders` must be a list of reminders"
            ),
            (
                "reminders:\n  - hours_before: 24\n    reply: reminder\n  - morning_of: \"07:00\"\n    reply: reminder_same_day",
                "reminders:\n  weekly: 2", 25, "unknown reminders setting `weekly`"
            ),
            (
                "reminders:\n  - hours_before: 24\n    reply: reminder\n  - morning_of: \"07:00\"\n    reply: reminder_same_day",
                "reminders:\n  morning_of: 7am", 25, "reminders.morning_of must be a time like \"07:00\""
            ),
            ("today at [Time].", "today at [Time]. [Summary]", 23, "[Summary] is only known in `post_call`, not in `reminder_same_day`"),
            ("today at [Time].", "today at [Time], [Room].", 23, "unknown variable [Room] in `replies.reminder_same_day`"),
            (
                "today at [Time].", "today at [Time], [Address].", 23,
                "`replies.reminder_same_day` uses [Address], but `business.address` is not set"
            ),
        ])
    func mistakes(replacing: String, with replacement: String, line: Int, message: String) {
        let yaml = Self.listForm.replacingOccurrences(of: replacing, with: replacement)
        #expect(yaml != Self.listForm)
        let found = errors(yaml)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.line == line, "\(found)")
        #expect(found.first?.message.contains(message) == true, "\(found)")
        #expect(found.first?.fix.isEmpty == false)
    }

    @Test("A reminder naming a missing reply says how to fix it; an unknown reply key says which keys there are")
    func missingReplyFix() {
        let found = errors(Self.listForm.replacingOccurrences(of: "reply: reminder_same_day", with: "reply: reminder_week"))
        #expect(found.first?.fix == "add `reminder_week: \"...\"` under `replies:`, or name one that is there: reminder, reminder_same_day")
        let unknown = errors(Self.listForm.replacingOccurrences(of: "  reminder_same_day:", with: "  remind_me:"))
        #expect(
            unknown.map(\.message) == ["unknown reply `remind_me`", "the reminder's reply `reminder_same_day` is not under `replies:`"])
        #expect(unknown.map(\.line) == [23, 28])
        #expect(unknown.first?.fix.hasSuffix("and reminder_<word> for other reminders") == true)
    }
}
