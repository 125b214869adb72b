/// What an inbound message means.
public enum Intent: Sendable, Hashable, CustomStringConvertible {
    case confirm
    case reschedule
    case cancel
    case optOut
    case optIn
    case help
    case custom(String)
    /// Free text for a person.
    case conversation
    /// The provider's own opt-out management already acted (Twilio `OptOutType`).
    case providerConsent

    public var description: String {
        switch self {
        case .confirm: "confirm"
        case .reschedule: "reschedule"
        case .cancel: "cancel"
        case .optOut: "opt_out"
        case .optIn: "opt_in"
        case .help: "help"
        case .custom(let word): "custom:\(word)"
        case .conversation: "conversation"
        case .providerConsent: "provider_consent"
        }
    }
}
