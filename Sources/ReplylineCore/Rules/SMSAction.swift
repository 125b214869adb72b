/// A named SMS a voice agent can send (`actions:` in a rules file): a template whose
/// `<angle_bracket>` placeholders are the action's inputs, each bound per agent to a fixed
/// value or to a variable the call collected.
public struct SMSAction: Sendable, Hashable {
    /// When the action fires: once the call has ended, or while it is live.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case postCall = "post_call"
        case inCall = "in_call"
    }

    /// What the law makes of the text: transactional texts need the contact's consent,
    /// marketing texts their prior express written consent.
    public enum MessageClass: String, Sendable, Hashable, CaseIterable {
        case transactional
        case marketing
    }

    public var name: String
    public var kind: Kind
    /// When the action fires, in the builder's words: kept and shown, never interpreted.
    public var description: String?
    public var message: ActionTemplate
    public var messageClass: MessageClass

    public init(name: String, kind: Kind, description: String? = nil, message: ActionTemplate, messageClass: MessageClass = .transactional)
    {
        self.name = name
        self.kind = kind
        self.description = description
        self.message = message
        self.messageClass = messageClass
    }
}

/// Where an agent takes the value of one action input from.
public enum InputBinding: Sendable, Hashable {
    /// The same text on every call (`fixed: "Dr. Lee"`).
    case fixed(String)
    /// A variable of the call event (`from: appointment_date`).
    case variable(String)
}

/// A voice agent (`agents:` in a rules file) and the actions it may send, each input bound.
public struct VoiceAgent: Sendable, Hashable {
    public var name: String
    /// Action name to its bindings, input name to binding; every input of the action is bound.
    public var actions: [String: [String: InputBinding]]

    public init(name: String, actions: [String: [String: InputBinding]]) {
        self.name = name
        self.actions = actions
    }
}

/// An action's message: `<name>` placeholders are inputs, `[Business]`-style variables are
/// the business's own values. Parsed once, when the rules load.
public struct ActionTemplate: Sendable, Hashable {
    enum Part: Sendable, Hashable {
        case text(String)
        case variable(Template.Variable)
        case input(String)
    }

    /// A `[Variable]` an action cannot fill: it knows the business, not a contact's appointment.
    public struct UnusableVariable: Error, Sendable, Equatable {
        public var name: String
    }

    /// The variables known without a contact or an appointment.
    public static let businessVariables: [Template.Variable] = [.business, .phone, .address]

    public var variables: Set<Template.Variable> {
        Set(parts.compactMap { if case .variable(let variable) = $0 { variable } else { nil } })
    }

    public let source: String
    let parts: [Part]
    /// Each distinct input, in order of first use.
    public let inputs: [String]

    public init(_ source: String) throws(UnusableVariable) {
        self.source = source
        var parts: [Part] = []
        var inputs: [String] = []
        var text = ""
        var index = source.startIndex
        while index < source.endIndex {
            let open = source[index]
            if open == "[" || open == "<", let close = source[index...].firstIndex(of: open == "[" ? "]" : ">") {
                let name = String(source[source.index(after: index)..<close])
                if let first = name.first, first.isLetter, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    if open == "<" {
                        if !inputs.contains(name) { inputs.append(name) }
                        parts.append(.text(text))
                        parts.append(.input(name))
                    } else {
                        guard let variable = Template.Variable(rawValue: name), Self.businessVariables.contains(variable) else {
                            throw UnusableVariable(name: "[\(name)]")
                        }
                        parts.append(.text(text))
                        parts.append(.variable(variable))
                    }
                    text = ""
                    index = source.index(after: close)
                    continue
                }
            }
            text.append(open)
            index = source.index(after: index)
        }
        parts.append(.text(text))
        self.parts = parts.filter { $0 != .text("") }
        self.inputs = inputs
    }

    /// Fills the template; every input must have a value (`CallPlanner` checks first).
    public func render(inputs values: [String: String], business: (Template.Variable) -> String?) -> String {
        var result = ""
        for part in parts {
            switch part {
            case .text(let text): result += text
            case .variable(let variable): result += business(variable) ?? ""
            case .input(let name): result += values[name] ?? ""
            }
        }
        return result
    }
}
