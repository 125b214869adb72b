import Foundation

/// The provider's own opt-out handling already acted on this message (Twilio's
/// `OptOutType`): record the consent change, send nothing.
public enum ProviderOptOut: String, Sendable, Hashable, Codable {
    case stop = "STOP"
    case start = "START"
    case help = "HELP"
}

/// An inbound message as the engine reads it.
public struct InboundText: Sendable, Hashable {
    public var body: String
    public var mediaCount: Int
    public var providerOptOut: ProviderOptOut?

    public init(body: String, mediaCount: Int = 0, providerOptOut: ProviderOptOut? = nil) {
        self.body = body
        self.mediaCount = mediaCount
        self.providerOptOut = providerOptOut
    }
}

/// What the engine knows about the contact when a message arrives, loaded by the store in
/// the same transaction that will apply the decision.
public struct ContactSnapshot: Sendable, Hashable {
    public var consent: ConsentState
    public var customerName: String?
    /// The contact's appointments with this business that have not started yet.
    public var upcomingAppointments: [Appointment]
    /// When the `unrecognized` acknowledgement last went to this contact.
    public var lastUnrecognizedReplyAt: Date?

    public init(
        consent: ConsentState = .optedIn, customerName: String? = nil, upcomingAppointments: [Appointment] = [],
        lastUnrecognizedReplyAt: Date? = nil
    ) {
        self.consent = consent
        self.customerName = customerName
        self.upcomingAppointments = upcomingAppointments
        self.lastUnrecognizedReplyAt = lastUnrecognizedReplyAt
    }
}

/// The engine's verdict on one inbound message: data for the shell to apply.
public struct Decision: Sendable, Hashable {
    public var intent: Intent
    /// Replies to send in the provider's response, in order.
    public var replies: [String] = []
    public var consentChange: ConsentChange?
    public var appointmentChange: AppointmentChange?
    /// The conversation waits for a person.
    public var needsReply: Bool = false
    /// Why staff should look, when they should (reschedule, inferred opt-out, ...).
    public var staffFlag: String?
    /// The reply is the `unrecognized` acknowledgement (it starts a new window).
    public var isUnrecognizedAcknowledgement: Bool = false

    public init(intent: Intent) { self.intent = intent }
}
