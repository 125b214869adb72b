import Foundation

/// One SMS a call event asks for, rendered and ready to queue.
public struct PlannedCallSMS: Sendable, Equatable {
    public var action: String
    public var kind: SMSAction.Kind
    public var messageClass: SMSAction.MessageClass
    public var body: String

    public init(action: String, kind: SMSAction.Kind, messageClass: SMSAction.MessageClass, body: String) {
        self.action = action
        self.kind = kind
        self.messageClass = messageClass
        self.body = body
    }
}

/// Why a call event's action cannot be rendered; a request with any of these queues nothing.
public enum CallPlanProblem: Sendable, Equatable, CustomStringConvertible {
    case unknownAgent(String, known: [String])
    case unknownAction(String)
    case notAttached(action: String, agent: String)
    /// The input's variable is absent from the call event, or blank.
    case missingVariable(action: String, input: String, variable: String)
    /// A post-call action named while the call is live (no `ended_at`).
    case callNotEnded(action: String)
    /// An in-call request naming a post-call action.
    case notInCall(action: String)

    public var description: String {
        switch self {
        case .unknownAgent(let agent, let known):
            "unknown agent `\(agent)`; the rules file defines \(known.isEmpty ? "no agents" : known.map { "`\($0)`" }.joined(separator: ", "))"
        case .unknownAction(let action): "unknown action `\(action)`; add it under `actions:` in the rules file"
        case .notAttached(let action, let agent):
            "action `\(action)` is not attached to agent `\(agent)`; list it under `agents.\(agent).actions`"
        case .missingVariable(let action, let input, let variable):
            "action `\(action)` needs <\(input)> from the call variable `\(variable)`, which the event did not give"
        case .callNotEnded(let action):
            "action `\(action)` is a post_call action and the call has not ended; send it with `ended_at` once the call ends"
        case .notInCall(let action):
            "action `\(action)` is a post_call action; name it in POST /api/v1/calls with `ended_at` once the call ends"
        }
    }
}

/// Turns a call event into the SMS it asks for: finds the agent and each named action,
/// resolves every input from the agent's bindings and the call's variables, and renders.
/// Pure: the server queues what it returns, or answers 422 with every problem.
public enum CallPlanner {
    /// The SMS for `actions` of `agent`, or every problem found. `inCallRequest`: the
    /// actions were asked for during the call (`POST /calls/{id}/sms`), so must be in-call ones.
    public static func plan(
        agent agentName: String, actions: [String], variables: [String: String], callEnded: Bool, inCallRequest: Bool = false,
        rules: Rules, business: (Template.Variable) -> String?
    ) -> Result<[PlannedCallSMS], CallPlanErrors> {
        guard let agent = rules.agents[agentName] else {
            return .failure(CallPlanErrors(problems: [.unknownAgent(agentName, known: rules.agents.keys.sorted())]))
        }
        var planned: [PlannedCallSMS] = []
        var problems: [CallPlanProblem] = []
        for name in actions {
            guard let action = rules.actions[name] else {
                problems.append(.unknownAction(name))
                continue
            }
            guard let bindings = agent.actions[name] else {
                problems.append(.notAttached(action: name, agent: agentName))
                continue
            }
            if action.kind == .postCall && inCallRequest {
                problems.append(.notInCall(action: name))
                continue
            }
            if action.kind == .postCall && !callEnded {
                problems.append(.callNotEnded(action: name))
                continue
            }
            var inputs: [String: String] = [:]
            for input in action.message.inputs {
                switch bindings[input] {
                case .fixed(let value): inputs[input] = value
                case .variable(let variable):
                    let value = variables[variable]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                    if value.isEmpty {
                        problems.append(.missingVariable(action: name, input: input, variable: variable))
                    } else {
                        inputs[input] = value
                    }
                // The loader refuses an agent leaving an input unbound.
                case nil: problems.append(.missingVariable(action: name, input: input, variable: input))
                }
            }
            planned.append(
                PlannedCallSMS(
                    action: name, kind: action.kind, messageClass: action.messageClass,
                    body: action.message.render(inputs: inputs, business: business)))
        }
        return problems.isEmpty ? .success(planned) : .failure(CallPlanErrors(problems: problems))
    }
}

/// Every problem of one call event.
public struct CallPlanErrors: Error, Sendable, Equatable {
    public var problems: [CallPlanProblem]
}
