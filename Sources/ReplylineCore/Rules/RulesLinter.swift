/// Something legal in a rules file that is probably a mistake, with where and a fix.
public struct RulesWarning: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String
    public var fix: String
    /// The rules file accepts this warning on purpose (`lint.accept`): shown as a note.
    public var accepted = false

    public init(file: String, line: Int?, message: String, fix: String, accepted: Bool = false) {
        self.file = file
        self.line = line
        self.message = message
        self.fix = fix
        self.accepted = accepted
    }

    public var description: String {
        accepted
            ? "\(file)\(line.map { ":\($0)" } ?? ""): note: \(message) (accepted in `lint.accept`)"
            : "\(file)\(line.map { ":\($0)" } ?? ""): warning: \(message)\n  fix: \(fix)"
    }
}

/// Lints loaded rules for what carriers and customers will trip over: carrier opt-out
/// words used for something else, replies that split into several segments (or fall to
/// UCS-2) at their longest realistic expansion, confirmation requests and reminders without
/// opt-out instructions or the business's name, and HELP text missing its required parts.
public enum RulesLinter {
    /// Long but realistic values for every template variable, all GSM-7.
    static func longestValues(_ business: BusinessProfile) -> [Template.Variable: String] {
        [
            .customerName: "Alexandria Montgomery-Fitzgerald", .service: "Comprehensive exam and cleaning",
            .date: "Wed, Sep 30", .time: "12:45 PM", .amount: "$1250.00", .business: business.name, .phone: business.phone,
            .summary: "You are booked for a cleaning on Wed, Sep 30 at 12:45 PM.", .address: business.address ?? "",
        ]
    }

    public static func lint(_ rules: Rules) -> [RulesWarning] {
        var warnings: [RulesWarning] = []
        func warn(_ key: String, _ message: String, fix: String) {
            warnings.append(
                RulesWarning(
                    file: rules.source, line: rules.lines[key], message: message, fix: fix,
                    accepted: rules.acceptedWarnings.contains(key)))
        }

        for intent in KeywordIntent.allCases where intent != .optOut {
            for word in rules.keywords[intent, default: []] where Rules.carrierOptOutWords.contains(word) {
                let meaning =
                    intent == .cancel
                    ? "it cancels an appointment awaiting an answer and opts the contact out otherwise"
                    : "carriers will still treat it as an opt-out"
                warn(
                    "keywords.\(intent.rawValue)", "`\(word)` is a carrier opt-out word used for `\(intent.rawValue)`: \(meaning)",
                    fix: "prefer a word carriers do not reserve (e.g. X for cancel) and move `\(word)` to `opt_out`")
            }
        }
        for word in rules.custom.keys.sorted() where Rules.carrierOptOutWords.contains(word) {
            warn(
                "custom.\(word)", "custom keyword `\(word)` is a carrier opt-out word",
                fix: "rename it; carriers treat `\(word)` as an opt-out")
        }

        let values = longestValues(rules.business)
        for (key, template) in templates(rules) {
            let text = template.render(values)
            if tellsToReplyCancel(template.source) {
                warn(
                    key, "`\(key)` tells customers to reply CANCEL, a carrier opt-out word",
                    fix: "ask for X (or another non-reserved word) instead")
            }
            let count = SegmentCounter.count(text)
            if let odd = text.unicodeScalars.first(where: { !SegmentCounter.isGSM7($0) }) {
                warn(
                    key,
                    "`\(key)` contains `\(odd)` (U+\(String(odd.value, radix: 16, uppercase: true))), which is not GSM-7: the whole message goes as UCS-2, 70 characters a segment",
                    fix: "use plain ASCII quotes and dashes, and no emoji")
            }
            if count.segments > 1 {
                warn(
                    key,
                    "`\(key)` takes \(count.segments) segments (\(count.units) \(count.encoding == .gsm7 ? "GSM-7 septets" : "UCS-2 units")) with long names filled in",
                    fix: "shorten it to \(count.encoding == .gsm7 ? 160 : 70) at most with a 32-character name and service")
            }
        }

        // Texts sent without being asked for: they must say who sends them and how to stop them.
        let reminders = rules.replies.otherReminders.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (key, template) in [("confirmation_request", rules.replies.confirmationRequest), ("reminder", rules.replies.reminder)]
            + reminders
        {
            if !template.source.uppercased().contains("STOP") {
                let what = key == "confirmation_request" ? "asks for an answer" : "is an automated reminder"
                warn(
                    "replies.\(key)", "`replies.\(key)` \(what) but gives no opt-out instructions",
                    fix: "end it with \"Reply STOP to opt out.\"")
            }
            if !template.variables.contains(.business) && !template.source.uppercased().contains(rules.business.name.uppercased()) {
                warn(
                    "replies.\(key)", "`replies.\(key)` does not say who it is from",
                    fix: "start it with \"[Business]:\"; carriers expect an automated text to name its sender")
            }
        }

        lintActions(rules) { warn($0, $1, fix: $2) }

        let help = rules.replies.help
        let helpText = help.source.uppercased()
        var missing: [String] = []
        if !help.variables.contains(.business) && !helpText.contains(rules.business.name.uppercased()) {
            missing.append("the business name ([Business])")
        }
        if !help.variables.contains(.phone) && !helpText.contains(where: \.isNumber) { missing.append("how to reach a person ([Phone])") }
        let compact = helpText.filter { !$0.isWhitespace }
        if !compact.contains("MSG&DATARATESMAYAPPLY") && !compact.contains("MESSAGEANDDATARATESMAYAPPLY") {
            missing.append("\"Msg&data rates may apply\"")
        }
        if !helpText.contains("STOP") { missing.append("STOP instructions") }
        if !missing.isEmpty {
            warn(
                "replies.help", "HELP text is missing \(missing.joined(separator: ", "))",
                fix: "carriers require all of them in the HELP reply")
        }
        return warnings
    }

    static func templates(_ rules: Rules) -> [(String, Template)] {
        let r = rules.replies
        var all: [(String, Template)] = [
            ("replies.confirmation_request", r.confirmationRequest), ("replies.reminder", r.reminder),
        ]
        all += r.otherReminders.keys.sorted().map { ("replies.\($0)", r.otherReminders[$0]!) }
        all += [
            ("replies.confirmed", r.confirmed),
            ("replies.already_confirmed", r.alreadyConfirmed), ("replies.reschedule_requested", r.rescheduleRequested),
            ("replies.cancelled", r.cancelled), ("replies.already_cancelled", r.alreadyCancelled),
            ("replies.appointment_closed", r.appointmentClosed), ("replies.no_appointment", r.noAppointment),
            ("replies.opted_out", r.optedOut), ("replies.opted_in", r.optedIn), ("replies.help", r.help),
        ]
        if let unrecognized = r.unrecognized { all.append(("replies.unrecognized", unrecognized)) }
        if let postCall = r.postCall { all.append(("replies.post_call", postCall)) }
        for word in rules.custom.keys.sorted() { all.append(("custom.\(word)", rules.custom[word]!)) }
        return all
    }

    /// "Reply CANCEL", "text CANCEL to ...", "reply C or CANCEL".
    static func tellsToReplyCancel(_ source: String) -> Bool {
        let words = source.uppercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
        for (index, word) in words.enumerated() where word == "CANCEL" {
            if words[max(0, index - 4)..<index].contains(where: { ["REPLY", "TEXT", "SEND", "RESPOND"].contains($0) }) { return true }
        }
        return false
    }
}
