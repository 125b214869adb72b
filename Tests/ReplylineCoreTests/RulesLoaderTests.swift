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

    @Test("Every problem is reported, not just the first")
    func allProblems() {
        let yaml = Self.valid.replacingOccurrences(of: "America/Chicago", with: "Nowhere/Land")
            .replacingOccurrences(of: "opted_in: ok", with: "opted_in: \"[Nope]\"")
        #expect(errors(yaml).count == 2)
    }
}
