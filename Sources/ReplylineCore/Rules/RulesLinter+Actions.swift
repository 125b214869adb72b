/// Lints voice-agent SMS actions as replies are linted: each at a realistic expansion of its
/// inputs, for who is texting, length and encoding, and opt-out instructions in marketing.
extension RulesLinter {
    /// A long but realistic value for an input, guessed from its name; a fixed value when
    /// every agent binds the input to one.
    static func longestInput(_ input: String, action: String, rules: Rules) -> String {
        let fixed = rules.agents.values.compactMap { agent -> String? in
            if case .fixed(let value) = agent.actions[action]?[input] { value } else { nil }
        }
        if !fixed.isEmpty, fixed.count == rules.agents.values.filter({ $0.actions[action] != nil }).count {
            return fixed.max { $0.count < $1.count }!
        }
        let name = input.lowercased()
        if name.contains("date") && name.contains("time") { return "Wed, Sep 30 at 12:45 PM" }
        if name.contains("date") || name.contains("day") { return "Wed, Sep 30" }
        if name.contains("time") { return "12:45 PM" }
        if name.contains("name") { return "Alexandria Montgomery-Fitzgerald" }
        if name.contains("address") || name.contains("location") { return "1200 Main St, Suite 400, Springfield" }
        if name.contains("phone") || name.contains("number") { return "(555) 010-4477" }
        if name.contains("url") || name.contains("link") { return "https://example.com/b/8f3k2q" }
        return "Comprehensive exam and cleaning"
    }

    static func lintActions(_ rules: Rules, warn: (String, String, String) -> Void) {
        let values = longestValues(rules.business)
        for name in rules.actions.keys.sorted() {
            let action = rules.actions[name]!
            let key = "actions.\(name)"
            let inputs = Dictionary(uniqueKeysWithValues: action.message.inputs.map { ($0, longestInput($0, action: name, rules: rules)) })
            let text = action.message.render(inputs: inputs) { values[$0] }
            let count = SegmentCounter.count(text)
            if count.segments > 1 {
                warn(
                    key,
                    "action `\(name)` takes \(count.segments) segments (\(count.units) \(count.encoding == .gsm7 ? "GSM-7 septets" : "UCS-2 units")) with long inputs filled in",
                    "shorten it to \(count.encoding == .gsm7 ? 160 : 70) at most with a 32-character name")
            }
            if let odd = text.unicodeScalars.first(where: { !SegmentCounter.isGSM7($0) }) {
                warn(
                    key,
                    "action `\(name)` contains `\(odd)` (U+\(String(odd.value, radix: 16, uppercase: true))), which is not GSM-7: the whole message goes as UCS-2",
                    "use plain ASCII quotes and dashes, and no emoji")
            }
            let source = action.message.source.uppercased()
            let names = action.message.parts.contains(.variable(.business)) || source.contains(rules.business.name.uppercased())
            if !names {
                warn(key, "action `\(name)` does not say who is texting", "name the business: add [Business]")
            }
            if action.messageClass == .marketing && !source.contains("STOP") {
                warn(key, "marketing action `\(name)` gives no opt-out instructions", "end it with \"Reply STOP to opt out.\"")
            }
            if tellsToReplyCancel(action.message.source) {
                warn(key, "action `\(name)` tells customers to reply CANCEL, a carrier opt-out word", "ask for X instead")
            }
        }
    }
}
