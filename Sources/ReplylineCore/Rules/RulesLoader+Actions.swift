import Foundation
import Yams

/// The `actions:` and `agents:` sections: voice-agent SMS actions and who may send them.
extension RulesLoader {
    static let actionExample = """
        write e.g. `sms_confirmation:` then `  kind: post_call` and `  message: "Hi <customer_name>, see you <appointment_date>."`
        """

    /// Action and agent names: a lower-case identifier, as voice-agent platforms name tools.
    static func isName(_ text: String) -> Bool {
        guard let first = text.first, first.isLowercase, first.isASCII, text.count <= 64 else { return false }
        return text.allSatisfy { ($0.isLowercase || $0.isNumber || $0 == "_") && $0.isASCII }
    }

    mutating func parseActions(_ node: Node?) -> [String: SMSAction] {
        guard let node else { return [:] }
        guard let map = node.mapping else {
            fail(node, "`actions` must map action names to actions", fix: Self.actionExample)
            return [:]
        }
        var actions: [String: SMSAction] = [:]
        for (key, value) in map {
            let name = key.string ?? ""
            lines["actions.\(name)"] = key.mark?.line
            guard Self.isName(name) else {
                fail(key, "action name `\(name)` must be lower-case letters, digits and _", fix: "rename it, e.g. sms_confirmation")
                continue
            }
            if let action = parseAction(name, value) { actions[name] = action }
        }
        return actions
    }

    mutating func parseAction(_ name: String, _ node: Node) -> SMSAction? {
        guard let map = node.mapping else {
            fail(node, "action `\(name)` must be a mapping with kind and message", fix: Self.actionExample)
            return nil
        }
        for (key, _) in map where !["kind", "description", "message", "class"].contains(key.string ?? "") {
            fail(key, "unknown setting `\(key.string ?? "")` in action `\(name)`", fix: "use kind, description, message and class")
        }
        let kinds = SMSAction.Kind.allCases.map(\.rawValue).joined(separator: " or ")
        var kind: SMSAction.Kind?
        if let value = map["kind"]?.scalar?.string {
            kind = SMSAction.Kind(rawValue: value)
            if kind == nil { fail(map["kind"], "action `\(name)` has unknown kind `\(value)`", fix: "use \(kinds)") }
        } else {
            fail(map["kind"] ?? node, "action `\(name)` needs a `kind`", fix: "add `kind: post_call` (after the call) or `kind: in_call`")
        }
        var messageClass = SMSAction.MessageClass.transactional
        if let value = map["class"] {
            if let text = value.scalar?.string, let parsed = SMSAction.MessageClass(rawValue: text) {
                messageClass = parsed
            } else {
                fail(value, "action `\(name)` has unknown class `\(value.scalar?.string ?? "?")`", fix: "use transactional or marketing")
            }
        }
        var description: String?
        if let value = map["description"] {
            description = value.scalar?.string
            if description == nil { fail(value, "`actions.\(name).description` must be text", fix: "write `description: \"...\"`") }
        }
        var message: ActionTemplate?
        if let value = map["message"] {
            if let text = value.scalar?.string, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                do {
                    message = try ActionTemplate(text)
                    if message!.variables.contains(.address), hasAddress == false {
                        fail(
                            value, "action `\(name)` uses [Address], but `business.address` is not set",
                            fix: "add the street address under `business:` (`address: \"1200 Main St, Suite 4\"`), or take [Address] out")
                    }
                } catch {
                    let known = ActionTemplate.businessVariables.map { "[\($0.rawValue)]" }.joined(separator: " ")
                    fail(
                        value, "\(error.name) in action `\(name)` is not known without an appointment",
                        fix: "make it an input, e.g. <\(Self.snakeCase(error.name))>, or use \(known)")
                }
            } else {
                fail(value, "`actions.\(name).message` must be a non-empty text", fix: Self.actionExample)
            }
        } else {
            fail(node, "action `\(name)` needs a `message`", fix: Self.actionExample)
        }
        guard let kind, let message else { return nil }
        return SMSAction(name: name, kind: kind, description: description, message: message, messageClass: messageClass)
    }

    /// `[CustomerName]` → `customer_name`, for a fix's example.
    static func snakeCase(_ bracketed: String) -> String {
        let name = bracketed.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return Template.Variable(rawValue: name)?.snakeName ?? name.lowercased()
    }

    mutating func parseAgents(_ node: Node?, actions: [String: SMSAction]) -> [String: VoiceAgent] {
        guard let node else { return [:] }
        let example = "write `front_desk:` then `  actions:` then `    sms_confirmation:` and one `      input: {from: variable}` per input"
        guard let map = node.mapping else {
            fail(node, "`agents` must map agent names to their actions", fix: example)
            return [:]
        }
        var agents: [String: VoiceAgent] = [:]
        for (key, value) in map {
            let name = key.string ?? ""
            guard Self.isName(name) else {
                fail(key, "agent name `\(name)` must be lower-case letters, digits and _", fix: "rename it, e.g. front_desk")
                continue
            }
            guard let settings = value.mapping, let list = settings["actions"], settings.count == 1 else {
                fail(value, "agent `\(name)` must have one setting, `actions`", fix: example)
                continue
            }
            guard let attached = list.mapping else {
                fail(list, "`agents.\(name).actions` must map action names to their inputs", fix: example)
                continue
            }
            var bound: [String: [String: InputBinding]] = [:]
            for (actionKey, inputs) in attached {
                let actionName = actionKey.string ?? ""
                guard let action = actions[actionName] else {
                    // An action defined with errors was reported where it is defined.
                    if lines["actions.\(actionName)"] == nil {
                        fail(actionKey, "agent `\(name)` names unknown action `\(actionName)`", fix: "define it under `actions:` first")
                    }
                    continue
                }
                if let bindings = parseBindings(agent: name, action: action, inputs) { bound[actionName] = bindings }
            }
            agents[name] = VoiceAgent(name: name, actions: bound)
        }
        return agents
    }

    /// One action's inputs for one agent: each `{from: variable}` or `{fixed: "text"}`, every input bound.
    mutating func parseBindings(agent: String, action: SMSAction, _ node: Node) -> [String: InputBinding]? {
        let place = "agent `\(agent)`, action `\(action.name)`"
        let fix = "write `\(action.message.inputs.first ?? "input"): {from: call_variable}` or `{fixed: \"text\"}`"
        var bindings: [String: InputBinding] = [:]
        var ok = true
        // An action without inputs may be attached with nothing after its name.
        let map = node.mapping.map(Array.init) ?? []
        if node.mapping == nil && node.scalar?.string != "" && node.scalar?.string != "null" && node.scalar?.string != "~" {
            fail(node, "\(place): inputs must be a mapping", fix: fix)
            return nil
        }
        for (key, value) in map {
            let input = key.string ?? ""
            guard action.message.inputs.contains(input) else {
                let known = action.message.inputs.map { "<\($0)>" }.joined(separator: " ")
                fail(key, "\(place): the message has no input <\(input)>", fix: known.isEmpty ? "remove it" : "bind only \(known)")
                ok = false
                continue
            }
            if let pair = value.mapping, pair.count == 1, let (kind, text) = pair.first, let text = text.scalar?.string {
                switch kind.string {
                case "from" where Self.isVariableName(text): bindings[input] = .variable(text)
                case "fixed": bindings[input] = .fixed(text)
                default:
                    fail(value, "\(place): <\(input)> must be `{from: variable}` or `{fixed: \"text\"}`", fix: fix)
                    ok = false
                }
            } else {
                fail(value, "\(place): <\(input)> must be `{from: variable}` or `{fixed: \"text\"}`", fix: fix)
                ok = false
            }
        }
        for input in action.message.inputs where bindings[input] == nil && map.allSatisfy({ $0.0.string != input }) {
            fail(node, "\(place): input <\(input)> is not bound", fix: "add `\(input): {from: call_variable}` or `{fixed: \"text\"}`")
            ok = false
        }
        return ok ? bindings : nil
    }

    /// A call variable's name, as voice-agent platforms write them (`appointment_date`, `customerName`).
    static func isVariableName(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_", text.count <= 64 else { return false }
        return text.allSatisfy { ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") && $0.isASCII }
    }
}
