import ReplylineCore

extension RulesCommand.Check {
    /// Each action with its kind, class and inputs, then how each agent binds them.
    static func describeActions(_ rules: Rules) -> [String] {
        var lines: [String] = []
        for name in rules.actions.keys.sorted() {
            let action = rules.actions[name]!
            let inputs = action.message.inputs.map { "<\($0)>" }.joined(separator: " ")
            lines.append(
                "  action \(name) (\(action.kind.rawValue), \(action.messageClass.rawValue)): "
                    + (inputs.isEmpty ? "no inputs" : "inputs \(inputs)"))
            for agent in rules.agents.keys.sorted() {
                guard let bindings = rules.agents[agent]!.actions[name] else { continue }
                let bound = action.message.inputs.map { input -> String in
                    switch bindings[input] {
                    case .fixed(let value): "<\(input)> = \"\(value)\""
                    case .variable(let variable): "<\(input)> from \(variable)"
                    case nil: "<\(input)> unbound"
                    }
                }
                lines.append("    agent \(agent)" + (bound.isEmpty ? "" : ": " + bound.joined(separator: ", ")))
            }
        }
        return lines
    }
}
