import ReplylineCore

/// A change a staff page showing a business's inbox should show, published by the store
/// once the change has committed: which contact it concerns and what kind it is. Ids only,
/// never message text: a page fetches what changed from the store.
public struct InboxEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A message stored in the thread, inbound or outbound (an appointment's
        /// confirmation request or reminders queued or cancelled count as one).
        case message
        /// An outbound message's delivery status changed (sent, delivered, failed, held...).
        case status
        /// The contact's consent changed.
        case consent
        /// The thread was marked read.
        case read
    }

    public var businessID: String
    public var kind: Kind
    /// The contact's number, E.164.
    public var phone: String

    public init(businessID: String, kind: Kind, phone: String) {
        self.businessID = businessID
        self.kind = kind
        self.phone = phone
    }

    /// `business|kind|phone`: the event as a PostgreSQL NOTIFY payload carries it.
    public var payload: String { "\(businessID)|\(kind.rawValue)|\(phone)" }

    /// The event in `payload`; nil when it is not one. The business id may contain `|`.
    public init?(payload: String) {
        let parts = payload.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 3, let kind = Kind(rawValue: String(parts[parts.count - 2])) else { return nil }
        self.init(businessID: parts.dropLast(2).joined(separator: "|"), kind: kind, phone: String(parts[parts.count - 1]))
    }
}

extension InboxEvent {
    /// What recording a new inbound message publishes: the message, and a consent change
    /// when the engine decided one.
    public static func inbound(businessID: String, phone: String, decision: Decision?) -> [InboxEvent] {
        let message = InboxEvent(businessID: businessID, kind: .message, phone: phone)
        guard decision?.consentChange != nil else { return [message] }
        return [message, InboxEvent(businessID: businessID, kind: .consent, phone: phone)]
    }
}

extension InboxEvent {
    /// What a delivery status change publishes: the status, and a consent change when the
    /// provider said the contact unsubscribed.
    public static func status(businessID: String, phone: String, optsOut: Bool = false) -> [InboxEvent] {
        let status = InboxEvent(businessID: businessID, kind: .status, phone: phone)
        return optsOut ? [status, InboxEvent(businessID: businessID, kind: .consent, phone: phone)] : [status]
    }
}

extension InboxEvent {
    /// What a claiming pass publishes: a status change for each entry it held, blocked or
    /// skipped (a claimed one is still queued).
    public static func claimed(_ decided: [DecidedEntry]) -> [InboxEvent] {
        decided.filter { $0.decision != .send }.map {
            InboxEvent(businessID: $0.item.entry.businessId, kind: .status, phone: $0.item.message.contactPhone)
        }
    }
}

extension SendResult {
    /// Whether the provider said the contact unsubscribed (a consent change).
    public var optsOut: Bool {
        if case .optedOut = self { return true }
        return false
    }
}

extension StoredMessage {
    /// The contact's number: an inbound message's sender, an outbound one's recipient.
    public var contactPhone: String { direction == .inbound ? fromNumber : toNumber }
}

extension ConversationStore {
    /// A store without live events: the subscription never yields.
    public func inboxEvents(businessID: String) async -> InboxEventSubscription {
        InboxEventHub().subscribe(businessID: businessID)
    }
}
