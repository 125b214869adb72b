import Foundation
import ReplylineCore

/// A due outbox entry with what the worker needs to decide and send.
public struct OutboxItem: Sendable {
    public var entry: OutboxEntry
    public var message: StoredMessage
    public var contactID: ContactID
    public var consent: ConsentState
    public var numberInvalid: Bool
    /// Automated messages sent to this contact in the cadence window before now.
    public var recentAutomatedSends: [Date]
    public var appointmentStartsAt: Date?
    /// For a confirmation request or reminder: its appointment as it stands now.
    public var appointment: BoundAppointment?

    public init(
        entry: OutboxEntry, message: StoredMessage, contactID: ContactID, consent: ConsentState, numberInvalid: Bool,
        recentAutomatedSends: [Date], appointmentStartsAt: Date? = nil, appointment: BoundAppointment? = nil
    ) {
        self.entry = entry
        self.message = message
        self.contactID = contactID
        self.consent = consent
        self.numberInvalid = numberInvalid
        self.recentAutomatedSends = recentAutomatedSends
        self.appointmentStartsAt = appointmentStartsAt
        self.appointment = appointment
    }
}

/// How one send attempt ended.
public enum SendResult: Sendable, Equatable {
    /// The provider took it; its id and first status.
    case sent(providerMessageID: String?, status: DeliveryStatus?)
    /// Not sent and never will be (opted out, plan exhausted).
    case blocked(reason: String)
    /// Not sent: its appointment no longer needs it (answered, cancelled, moved, past).
    case skipped(reason: String)
    /// The provider refused it for good.
    case failed(code: String?, message: String)
    /// The provider says the contact unsubscribed (Twilio 21610): failed, and an opt-out recorded.
    case optedOut(code: String, message: String)
    /// The number cannot receive texts (Twilio 21211, 21614): failed, and the number marked.
    case invalidNumber(code: String, message: String)
    /// Worth trying again (429, 5xx, no connection): after this delay, unless attempts ran out.
    case retry(after: TimeInterval, reason: String)
    /// The provider may or may not have it (no answer after the request went out): marked
    /// `unknown` like a send a crash interrupted, and never sent again.
    case unknown(reason: String)
}
