import Foundation
import Yams

/// Every problem found in one rules file, in file order.
public struct RulesLoadError: Error, Sendable, CustomStringConvertible {
    public var errors: [RulesError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Reads a `Rules/*.yml` file into `Rules`, reporting every problem with its line and a fix
/// instead of stopping at the first.
public struct RulesLoader {
    let file: String
    var errors: [RulesError] = []
    var lines: [String: Int] = [:]
    /// Whether `business.address` is set, once the business section is read (nil when it
    /// cannot be), so a template using [Address] without one is an error.
    var hasAddress: Bool?

    public static func load(contentsOf url: URL) throws -> Rules {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw RulesLoadError(errors: [
                RulesError(
                    file: url.relativePath, line: nil, message: "cannot read the rules file",
                    fix: "check the path; `replyline serve --rules PATH` takes a .yml file or a folder of them")
            ])
        }
        return try load(yaml: text, file: url.relativePath)
    }

    public static func load(yaml: String, file: String) throws -> Rules {
        var loader = RulesLoader(file: file)
        let rules = loader.parse(yaml)
        if let rules, loader.errors.isEmpty { return rules }
        // Sections are read in dependency order (replies before reminders), the report in file order.
        let ordered = loader.errors.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
        throw RulesLoadError(errors: ordered.map(\.element))
    }

    mutating func fail(_ node: Node?, _ message: String, fix: String) {
        errors.append(RulesError(file: file, line: node?.mark?.line, message: message, fix: fix))
    }

    mutating func parse(_ yaml: String) -> Rules? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            let line: Int? =
                switch error {
                case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
                default: nil
                }
            errors.append(
                RulesError(
                    file: file, line: line, message: "not valid YAML: \(error)",
                    fix: "check indentation and quoting near that line"))
            return nil
        } catch {
            errors.append(RulesError(file: file, line: nil, message: "not valid YAML: \(error)", fix: "check the file"))
            return nil
        }
        guard let root, let top = root.mapping else {
            fail(root, "the rules file must be a mapping with `business`, `keywords` and `replies`", fix: "start from Rules/default.yml")
            return nil
        }
        for (key, _) in top
        where ![
            "business", "keywords", "custom", "replies", "unrecognized_reply_window_hours", "reminders", "lint", "quick_replies", "actions",
            "agents",
        ]
        .contains(key.string ?? "") {
            fail(
                key, "unknown section `\(key.string ?? "?")`",
                fix:
                    "use business, keywords, custom, replies, reminders, lint, quick_replies, actions, agents or unrecognized_reply_window_hours"
            )
        }
        var quickReplies: [String] = []
        if let node = top["quick_replies"] {
            let fix = "write `quick_replies:` then one `  - \"text\"` line per reply, each at most 320 characters"
            if let items = node.sequence {
                for item in items {
                    if let text = item.scalar?.string, !text.trimmingCharacters(in: .whitespaces).isEmpty, text.count <= 320 {
                        quickReplies.append(text)
                    } else {
                        fail(item, "each quick reply must be a line of text of at most 320 characters", fix: fix)
                    }
                }
            } else {
                fail(node, "`quick_replies` must be a list", fix: fix)
            }
        }
        let business = parseBusiness(top["business"], parent: root)
        let (keywords, optInWhileOptedOut) = parseKeywords(top["keywords"], parent: root)
        let custom = parseCustom(top["custom"], taken: keywords)
        let replies = parseReplies(top["replies"], parent: root)
        var window: TimeInterval = 24 * 3600
        if let node = top["unrecognized_reply_window_hours"] {
            if let hours = node.scalar.flatMap({ Double($0.string) }), hours >= 0 {
                window = hours * 3600
            } else {
                fail(
                    node, "unrecognized_reply_window_hours must be a number of hours",
                    fix: "write e.g. `unrecognized_reply_window_hours: 24`")
            }
        }
        let replyKeys = Set(top["replies"]?.mapping?.compactMap(\.key.string) ?? [])
        let reminders = parseReminders(top["reminders"], replyKeys: replyKeys)
        var accepted: Set<String> = []
        if let node = top["lint"] {
            let fix = "write `lint:` then `  accept: [keywords.cancel]`, naming the settings whose warnings are meant"
            if let map = node.mapping, map.count == 1, let list = map["accept"]?.sequence {
                for item in list {
                    guard let setting = item.scalar?.string, setting.contains(".") else {
                        fail(item, "`lint.accept` lists settings such as keywords.cancel or replies.reminder", fix: fix)
                        continue
                    }
                    accepted.insert(setting)
                }
            } else {
                fail(node, "`lint` takes one list, `accept`", fix: fix)
            }
        }
        let actions = parseActions(top["actions"])
        let agents = parseAgents(top["agents"], actions: actions)
        guard let business, let replies else { return nil }
        var rules = Rules(
            source: file, business: business, keywords: keywords, optInWhileOptedOut: optInWhileOptedOut,
            custom: custom, replies: replies, unrecognizedReplyWindow: window, lines: lines)
        rules.reminders = reminders.compactMap { timing, key in
            replies.reminder(named: key).map { ReminderRule(timing: timing, reply: key, template: $0) }
        }
        rules.acceptedWarnings = accepted
        rules.quickReplies = quickReplies
        rules.actions = actions
        rules.agents = agents
        return rules
    }

    mutating func string(_ node: Node?, _ key: String, in section: String, parent: Node?) -> String? {
        guard let node else {
            fail(parent, "`\(section).\(key)` is missing", fix: "add `\(key): ...` under `\(section):`")
            return nil
        }
        guard let value = node.scalar?.string, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            fail(node, "`\(section).\(key)` must be a non-empty text", fix: "write `\(key): \"...\"`")
            return nil
        }
        return value
    }

    mutating func parseBusiness(_ node: Node?, parent: Node) -> BusinessProfile? {
        guard let node, let map = node.mapping else {
            fail(
                node ?? parent, "`business` must be a mapping with name, phone and time_zone",
                fix: "copy the business section of Rules/default.yml")
            return nil
        }
        let name = string(map["name"], "name", in: "business", parent: node)
        let phone = string(map["phone"], "phone", in: "business", parent: node)
        var timeZone: TimeZone?
        if let id = string(map["time_zone"], "time_zone", in: "business", parent: node) {
            timeZone = TimeZone(identifier: id)
            if timeZone == nil {
                fail(map["time_zone"], "unknown time zone `\(id)`", fix: "use an IANA name such as America/New_York or Europe/London")
            }
        }
        var country = "US"
        if let value = map["country"]?.scalar?.string {
            if PhoneNumber.isSupported(country: value) {
                country = value.uppercased()
            } else {
                fail(map["country"], "unsupported country `\(value)`", fix: "use a two-letter code such as US, CA, GB, AU")
            }
        }
        var numbers: [String] = []
        if let list = map["numbers"] {
            for item in list.sequence.map(Array.init) ?? [] {
                if let text = item.scalar?.string, let number = PhoneNumber(text, defaultCountry: country) {
                    numbers.append(number.e164)
                } else {
                    fail(
                        item, "`\(item.scalar?.string ?? "?")` is not a phone number", fix: "write numbers in E.164, e.g. \"+15551234567\"")
                }
            }
            if list.sequence == nil { fail(list, "`business.numbers` must be a list", fix: "write `numbers: [\"+15551234567\"]`") }
        }
        var address: String?
        if let node = map["address"] {
            address = string(node, "address", in: "business", parent: node)
        }
        hasAddress = map["address"] != nil
        var opens = 9 * 60
        var closes = 20 * 60
        if let hours = map["hours"] {
            if let text = hours.scalar?.string, let range = Self.parseHours(text) {
                (opens, closes) = range
            } else {
                fail(
                    hours, "`business.hours` must look like \"09:00-20:00\"",
                    fix: "write `hours: \"09:00-20:00\"` (24-hour clock, opening before closing)")
            }
        }
        guard let name, let phone, let timeZone else { return nil }
        return BusinessProfile(
            name: name, phone: phone, timeZone: timeZone, country: country, numbers: numbers, opensAt: opens, closesAt: closes,
            address: address)
    }

    static func parseHours(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else { return nil }
        func minutes(_ text: String) -> Int? {
            let hm = text.split(separator: ":")
            guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0..<60).contains(m) else { return nil }
            return h * 60 + m
        }
        guard let open = minutes(parts[0]), let close = minutes(parts[1]), open < close, close <= 24 * 60 else { return nil }
        return (open, close)
    }

    mutating func words(_ node: Node, label: String) -> [(String, Node)] {
        guard let list = node.sequence else {
            fail(node, "`\(label)` must be a list of words", fix: "write `\(label.split(separator: ".").last!): [WORD, OTHER]`")
            return []
        }
        var result: [(String, Node)] = []
        for item in list {
            guard let text = item.scalar?.string else {
                fail(item, "a keyword must be plain text", fix: "quote it: \"WORD\"")
                continue
            }
            let word = KeywordMatcher.normalize(text)
            if word.isEmpty {
                fail(item, "keyword `\(text)` is empty once punctuation and spaces are trimmed", fix: "use letters or digits")
            } else {
                result.append((word, item))
            }
        }
        return result
    }

    mutating func parseKeywords(_ node: Node?, parent: Node) -> ([KeywordIntent: [String]], [String]) {
        var result: [KeywordIntent: [String]] = [:]
        var owner: [String: KeywordIntent] = [:]
        var optIn: [String] = []
        guard let node else {
            fail(parent, "`keywords` is missing", fix: "copy the keywords section of Rules/default.yml")
            return (result, optIn)
        }
        guard let map = node.mapping else {
            fail(node, "`keywords` must map intents to word lists", fix: "copy the keywords section of Rules/default.yml")
            return (result, optIn)
        }
        let known = KeywordIntent.allCases.map(\.rawValue) + ["opt_in_while_opted_out"]
        for (key, value) in map {
            let name = key.string ?? ""
            lines["keywords.\(name)"] = key.mark?.line
            if name == "opt_in_while_opted_out" {
                optIn = words(value, label: "keywords.\(name)").map(\.0)
                continue
            }
            guard let intent = KeywordIntent(rawValue: name) else {
                fail(
                    key, "unknown intent `\(name)`", fix: "use one of \(known.joined(separator: ", ")); custom keywords go under `custom:`")
                continue
            }
            for (word, item) in words(value, label: "keywords.\(name)") {
                if let other = owner[word], other != intent {
                    fail(
                        item, "keyword `\(word)` is listed under both `\(other.rawValue)` and `\(intent.rawValue)`",
                        fix: "keep it under one intent")
                    continue
                }
                if owner[word] == nil { result[intent, default: []].append(word) }
                owner[word] = intent
            }
        }
        for intent in [KeywordIntent.optOut, .optIn, .help] where result[intent, default: []].isEmpty {
            fail(
                node, "`keywords.\(intent.rawValue)` needs at least one word",
                fix: "carriers require \(intent.rawValue) keywords; see Rules/default.yml")
        }
        return (result, optIn)
    }

    mutating func parseCustom(_ node: Node?, taken: [KeywordIntent: [String]]) -> [String: Template] {
        guard let node else { return [:] }
        guard let map = node.mapping else {
            fail(node, "`custom` must map keywords to replies", fix: "write `custom:` then `  HOURS: \"We're open ...\"`")
            return [:]
        }
        var owner: [String: KeywordIntent] = [:]
        for (intent, words) in taken { for word in words { owner[word] = intent } }
        var result: [String: Template] = [:]
        for (key, value) in map {
            let word = KeywordMatcher.normalize(key.string ?? "")
            lines["custom.\(word)"] = key.mark?.line
            if let other = owner[word] {
                fail(
                    key, "custom keyword `\(word)` is already a `\(other.rawValue)` keyword",
                    fix: "rename it or remove it from `keywords.\(other.rawValue)`")
                continue
            }
            if word.isEmpty || result[word] != nil {
                fail(key, "custom keyword `\(key.string ?? "")` is empty or repeated", fix: "give each custom keyword once")
                continue
            }
            if let template = template(value, label: "custom.\(word)") { result[word] = template }
        }
        return result
    }

    mutating func template(_ node: Node, label: String) -> Template? {
        guard let text = node.scalar?.string, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            fail(node, "`\(label)` must be a non-empty text", fix: "write `\(label.split(separator: ".").last!): \"...\"`")
            return nil
        }
        let template: Template
        do {
            template = try Template(text)
        } catch {
            let names = Template.Variable.allCases.map { "[\($0.rawValue)]" }.joined(separator: " ")
            fail(node, "unknown variable \(error.name) in `\(label)`", fix: "use one of \(names) (or their <snake_case> spelling)")
            return nil
        }
        if template.variables.contains(.address), hasAddress == false {
            fail(
                node, "`\(label)` uses [Address], but `business.address` is not set",
                fix: "add the street address under `business:` (`address: \"1200 Main St, Suite 4\"`), or take [Address] out of `\(label)`")
            return nil
        }
        return template
    }

    mutating func parseReplies(_ node: Node?, parent: Node) -> ReplyTemplates? {
        guard let node, let map = node.mapping else {
            fail(node ?? parent, "`replies` must be a mapping of reply templates", fix: "copy the replies section of Rules/default.yml")
            return nil
        }
        let keys = Set(ReplyTemplates.keys.map(\.key))
        var parsed: [String: Template] = [:]
        for (key, value) in map {
            let name = key.string ?? ""
            if ReplyTemplates.isReminderKey(name), name != "reminder" {
                lines["replies.\(name)"] = key.mark?.line
                if let template = template(value, label: "replies.\(name)") { parsed[name] = template }
            } else if !keys.contains(name) {
                fail(
                    key, "unknown reply `\(name)`",
                    fix: "replies are \(ReplyTemplates.keys.map(\.key).joined(separator: ", ")), and reminder_<word> for other reminders")
            }
        }
        for (key, required) in ReplyTemplates.keys {
            lines["replies.\(key)"] = map[key]?.mark?.line
            guard let value = map[key] else {
                if required { fail(node, "reply `\(key)` is missing", fix: "add `\(key): \"...\"` under `replies:`") }
                continue
            }
            if let template = template(value, label: "replies.\(key)") { parsed[key] = template }
        }
        let required = ReplyTemplates.keys.filter(\.required).map(\.key)
        guard required.allSatisfy({ parsed[$0] != nil }), errors.isEmpty else { return nil }
        for (key, template) in parsed where template.variables.contains(.summary) && key != "post_call" {
            fail(map[key], "[Summary] is only known in `post_call`, not in `\(key)`", fix: "remove [Summary] from `replies.\(key)`")
        }
        return ReplyTemplates(
            confirmed: parsed["confirmed"]!, alreadyConfirmed: parsed["already_confirmed"]!,
            rescheduleRequested: parsed["reschedule_requested"]!, cancelled: parsed["cancelled"]!,
            alreadyCancelled: parsed["already_cancelled"]!, appointmentClosed: parsed["appointment_closed"]!,
            noAppointment: parsed["no_appointment"]!, optedOut: parsed["opted_out"]!, optedIn: parsed["opted_in"]!,
            help: parsed["help"]!, unrecognized: parsed["unrecognized"],
            confirmationRequest: parsed["confirmation_request"]!, reminder: parsed["reminder"]!,
            otherReminders: parsed.filter { ReplyTemplates.isReminderKey($0.key) && $0.key != "reminder" }, postCall: parsed["post_call"])
    }

    static let remindersFix =
        "write `reminders:` then one `  - hours_before: 24` or `  - morning_of: \"07:00\"` line per reminder, each followed by `    reply: reminder` (or another reminder reply's key)"

    /// The `reminders:` section as (timing, reply key) pairs, in file order: a list of
    /// `{hours_before or morning_of, reply}`, or the mapping `{hours_before, morning_of}`,
    /// whose `morning_of` sends `reminder_same_day` when the replies have one (else
    /// `reminder`). Without the section, as the mapping with 24 hours and 07:00.
    mutating func parseReminders(_ node: Node?, replyKeys: Set<String>) -> [(ReminderRule.Timing, String)] {
        let sameDay = replyKeys.contains("reminder_same_day") ? "reminder_same_day" : "reminder"
        var timings: [String: ReminderRule.Timing] = ["hours_before": .hoursBefore(24), "morning_of": .morningOf(minutes: 7 * 60)]
        if let node {
            if let items = node.sequence { return items.compactMap { reminder($0, replyKeys: replyKeys) } }
            guard let map = node.mapping else {
                fail(node, "`reminders` must be a list of reminders", fix: Self.remindersFix)
                return []
            }
            for (key, value) in map {
                let name = key.string ?? ""
                guard name == "hours_before" || name == "morning_of" else {
                    fail(
                        key, "unknown reminders setting `\(name)`",
                        fix: "use hours_before and morning_of, or the list form: \(Self.remindersFix)")
                    continue
                }
                let text = value.scalar?.string ?? ""
                let none = text == "null" || text == "~" || (name == "hours_before" && Double(text) == 0)
                timings[name] = none ? nil : timing(key, value)
            }
        }
        return [timings["hours_before"].map { ($0, "reminder") }, timings["morning_of"].map { ($0, sameDay) }].compactMap { $0 }
    }

    /// One entry of the list form: its timing and the key of its reply, which must be
    /// `reminder` or a `reminder_<word>` reply in `replyKeys`.
    mutating func reminder(_ item: Node, replyKeys: Set<String>) -> (ReminderRule.Timing, String)? {
        guard let map = item.mapping else {
            fail(item, "each reminder must be a mapping with its timing and its reply", fix: Self.remindersFix)
            return nil
        }
        for (key, _) in map where !["hours_before", "morning_of", "reply"].contains(key.string ?? "") {
            fail(key, "unknown reminder setting `\(key.string ?? "")`", fix: "a reminder has `hours_before` or `morning_of`, and `reply`")
        }
        let timings = map.filter { $0.key.string == "hours_before" || $0.key.string == "morning_of" }
        var timing: ReminderRule.Timing?
        switch timings.count {
        case 0:
            fail(item, "this reminder does not say when it goes", fix: "add `hours_before: 24` or `morning_of: \"07:00\"`")
        case 1:
            timing = self.timing(timings[0].key, timings[0].value)
        default:
            fail(
                item, "a reminder has one timing, not both `hours_before` and `morning_of`",
                fix: "give each timing its own entry (`- hours_before: 24` and `- morning_of: \"07:00\"`), each with its `reply`")
        }
        var reply: String?
        if let value = map["reply"] {
            reply = reminderReply(value, replyKeys: replyKeys)
        } else {
            fail(item, "this reminder names no reply", fix: "add `reply: reminder` (or the key of another reminder reply under `replies:`)")
        }
        guard let timing, let reply else { return nil }
        return (timing, reply)
    }

    /// The timing `key: value` gives (`hours_before: 24`, `morning_of: "07:00"`), or nil
    /// once it has reported what is wrong with it.
    mutating func timing(_ key: Node, _ value: Node) -> ReminderRule.Timing? {
        let text = value.scalar?.string ?? ""
        if key.string == "hours_before" {
            if let hours = Double(text), hours > 0, hours <= 24 * 14 { return .hoursBefore(hours) }
            fail(
                value, "reminders.hours_before must be a number of hours, more than 0 and at most 336", fix: "write e.g. `hours_before: 24`"
            )
        } else {
            if let (minutes, _) = Self.parseHours(text + "-24:00") { return .morningOf(minutes: minutes) }
            fail(value, "reminders.morning_of must be a time like \"07:00\"", fix: "write e.g. `morning_of: \"07:00\"` (24-hour clock)")
        }
        return nil
    }

    /// The reply a reminder names, if it is a reminder reply the replies define.
    mutating func reminderReply(_ value: Node, replyKeys: Set<String>) -> String? {
        let name = value.scalar?.string ?? ""
        let defined = replyKeys.filter(ReplyTemplates.isReminderKey).sorted()
        guard ReplyTemplates.isReminderKey(name) else {
            fail(
                value, "`reply: \(name)` is not a reminder reply",
                fix: "name `reminder` or a `reminder_<word>` reply under `replies:` (here: \(defined.joined(separator: ", ")))")
            return nil
        }
        guard replyKeys.contains(name) else {
            fail(
                value, "the reminder's reply `\(name)` is not under `replies:`",
                fix: "add `\(name): \"...\"` under `replies:`, or name one that is there: \(defined.joined(separator: ", "))")
            return nil
        }
        return name
    }
}
