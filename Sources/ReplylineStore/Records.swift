import Foundation
import ReplylineCore

/// A person who texts a business; one per (business, phone).
public struct StoredContact: Codable, Sendable, Hashable {
    public var id: ContactID?
    public var businessId: String
    public var phone: String
    public var name: String?
    public var consent: ConsentState
    public var numberInvalid: Bool = false
    public var createdAt: Date

    public init(
        id: ContactID? = nil, businessId: String, phone: String, name: String? = nil, consent: ConsentState, numberInvalid: Bool = false,
        createdAt: Date
    ) {
        self.id = id
        self.businessId = businessId
        self.phone = phone
        self.name = name
        self.consent = consent
        self.numberInvalid = numberInvalid
        self.createdAt = createdAt
    }
}

/// The inbox state of one contact's thread with one business.
public struct StoredConversation: Codable, Sendable, Hashable {
    public var id: ConversationID?
    public var businessId: String
    public var contactId: ContactID
    public var unreadCount: Int
    public var needsReply: Bool
    public var staffFlag: String?
    public var lastMessageAt: Date
    public var lastMessagePreview: String
    public var lastUnrecognizedReplyAt: Date?

    public init(
        id: ConversationID? = nil, businessId: String, contactId: ContactID, unreadCount: Int, needsReply: Bool, staffFlag: String? = nil,
        lastMessageAt: Date, lastMessagePreview: String, lastUnrecognizedReplyAt: Date? = nil
    ) {
        self.id = id
        self.businessId = businessId
        self.contactId = contactId
        self.unreadCount = unreadCount
        self.needsReply = needsReply
        self.staffFlag = staffFlag
        self.lastMessageAt = lastMessageAt
        self.lastMessagePreview = lastMessagePreview
        self.lastUnrecognizedReplyAt = lastUnrecognizedReplyAt
    }
}

public enum MessageDirection: String, Codable, Sendable, Hashable {
    case inbound
    case outbound
}

/// What a message is for.
public enum MessageKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// Texted by the contact.
    case inbound
    /// The engine's answer to an inbound message.
    case reply
    case confirmationRequest = "confirmation_request"
    case reminder
    /// Written by staff.
    case manual
    /// The follow-up after a call with the voice agent.
    case postCall = "post_call"
    /// Sent by the voice agent while the call is live.
    case inCall = "in_call"

    /// Sent by the system on its own, not by a person nor in answer to one.
    public var isAutomated: Bool { self == .confirmationRequest || self == .reminder || self == .postCall || self == .inCall }

    /// Sent because of a phone call, so quiet hours do not hold it while the call is fresh.
    public var followsCall: Bool { self == .postCall || self == .inCall }
}

/// Where a message is: received, a provider's delivery status, or the outbox's own word
/// for a message that never reached the provider.
public enum MessageStatus: String, Codable, Sendable, Hashable, CaseIterable {
    /// An inbound message, stored.
    case received
    // The provider's delivery statuses (`DeliveryStatus`).
    case accepted, scheduled, queued, sending, sent, receiving
    case partiallyDelivered = "partially_delivered"
    case delivered, undelivered, failed, read
    /// The provider canceled a send it had scheduled (its spelling).
    case canceled
    /// Not sent and never will be: opted out, plan exhausted.
    case blocked
    /// Not sent: its appointment no longer needed it.
    case skipped
    /// Dropped from the outbox because its appointment was cancelled or moved.
    case cancelled
    /// Interrupted while sending: the provider may have it, so it is never sent again.
    case unknown

    public init(_ status: DeliveryStatus) {
        self.init(rawValue: status.rawValue)!
    }

    /// The provider's delivery status this is, if it is one.
    public var deliveryStatus: DeliveryStatus? { DeliveryStatus(rawValue: rawValue) }
}

/// One message of a thread, either way.
public struct StoredMessage: Codable, Sendable, Hashable {
    public var id: MessageID?
    public var conversationId: ConversationID
    public var direction: MessageDirection
    public var kind: MessageKind
    public var provider: String
    public var providerMessageId: String?
    public var fromNumber: String
    public var toNumber: String
    public var body: String
    public var media: [InboundMessage.Media]
    public var segments: Int
    public var encoding: SMSEncoding
    public var status: MessageStatus
    public var errorCode: String?
    public var errorMessage: String?
    public var intent: String?
    /// JSON array of `[name, value]` pairs, exactly as the provider sent them (inbound only):
    /// kept as the provider's own record, never read by the engine.
    public var parameters: String?
    /// The exact response body given to the provider, replayed on a retry.
    public var webhookReply: String?
    public var inReplyTo: MessageID?
    public var appointmentId: String?
    public var createdAt: Date
    public var sentAt: Date?

    public init(
        id: MessageID?, conversationId: ConversationID, direction: MessageDirection, kind: MessageKind, provider: String,
        providerMessageId: String?, fromNumber: String, toNumber: String, body: String, media: [InboundMessage.Media], segments: Int,
        encoding: SMSEncoding, status: MessageStatus, errorCode: String? = nil, errorMessage: String? = nil, intent: String? = nil,
        parameters: String? = nil, webhookReply: String? = nil, inReplyTo: MessageID? = nil, appointmentId: String?, createdAt: Date,
        sentAt: Date? = nil
    ) {
        self.id = id
        self.conversationId = conversationId
        self.direction = direction
        self.kind = kind
        self.provider = provider
        self.providerMessageId = providerMessageId
        self.fromNumber = fromNumber
        self.toNumber = toNumber
        self.body = body
        self.media = media
        self.segments = segments
        self.encoding = encoding
        self.status = status
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.intent = intent
        self.parameters = parameters
        self.webhookReply = webhookReply
        self.inReplyTo = inReplyTo
        self.appointmentId = appointmentId
        self.createdAt = createdAt
        self.sentAt = sentAt
    }

    /// Confirmation requests, reminders and follow-ups: sent by the system, not by a person.
    public var isAutomated: Bool { kind.isAutomated }
}

public struct StoredAppointment: Codable, Sendable, Hashable {
    public var id: String
    public var businessId: String
    public var contactId: ContactID
    public var customerName: String?
    public var service: String
    public var startsAt: Date
    public var amountCents: Int?
    public var state: AppointmentState
    public var createdAt: Date
    public var updatedAt: Date

    /// The appointment as the engine sees it.
    public var engineValue: Appointment {
        Appointment(id: id, customerName: customerName, service: service, startsAt: startsAt, amountCents: amountCents, state: state)
    }

    public init(
        id: String, businessId: String, contactId: ContactID, customerName: String? = nil, service: String, startsAt: Date,
        amountCents: Int? = nil, state: AppointmentState, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.businessId = businessId
        self.contactId = contactId
        self.customerName = customerName
        self.service = service
        self.startsAt = startsAt
        self.amountCents = amountCents
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A row of the append-only consent ledger (the store refuses updates and deletes).
public struct StoredConsentEvent: Codable, Sendable, Hashable {
    public var id: ConsentEventID?
    public var businessId: String
    public var contactId: ContactID
    public var phone: String
    public var fromState: ConsentState
    public var toState: ConsentState
    public var source: ConsentSource
    /// The provider's id of the message that made the change, if one did.
    public var messageId: String?
    public var createdAt: Date

    public init(
        id: ConsentEventID? = nil, businessId: String, contactId: ContactID, phone: String, fromState: ConsentState, toState: ConsentState,
        source: ConsentSource, messageId: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.businessId = businessId
        self.contactId = contactId
        self.phone = phone
        self.fromState = fromState
        self.toState = toState
        self.source = source
        self.messageId = messageId
        self.createdAt = createdAt
    }
}

/// Where an outbox entry is in its life.
public enum OutboxState: String, Codable, Sendable, Hashable, CaseIterable {
    /// Waiting for its due time.
    case pending
    /// Claimed by a worker, which is calling the provider.
    case sending
    case sent
    /// Never to be sent (opted out, plan exhausted).
    case blocked
    /// Its appointment no longer needs it.
    case skipped
    case failed
    /// Its appointment was cancelled or moved.
    case cancelled
    /// Interrupted while sending: the provider may have it, so it is never sent again.
    case unknown
}

/// A message committed for sending; the outbox worker delivers it.
public struct OutboxEntry: Codable, Sendable, Hashable {
    public var id: OutboxEntryID?
    public var messageId: MessageID
    public var businessId: String
    public var dueAt: Date
    public var attempts: Int
    public var lastError: String?
    public var state: OutboxState
    /// For a confirmation request or reminder: the appointment's start time its text
    /// names, so a message about an older time is skipped at send time.
    public var appointmentStartsAt: Date? = nil

    public init(
        id: OutboxEntryID? = nil, messageId: MessageID, businessId: String, dueAt: Date, attempts: Int, lastError: String? = nil,
        state: OutboxState, appointmentStartsAt: Date? = nil
    ) {
        self.id = id
        self.messageId = messageId
        self.businessId = businessId
        self.dueAt = dueAt
        self.attempts = attempts
        self.lastError = lastError
        self.state = state
        self.appointmentStartsAt = appointmentStartsAt
    }
}

// In text (logs, errors, interpolation) each reads as its stored name, `confirmation_request`
// rather than the case's `confirmationRequest`.
extension MessageDirection: CustomStringConvertible { public var description: String { rawValue } }
extension MessageKind: CustomStringConvertible { public var description: String { rawValue } }
extension MessageStatus: CustomStringConvertible { public var description: String { rawValue } }
extension OutboxState: CustomStringConvertible { public var description: String { rawValue } }

/// A stored value the schema should have made impossible; the request fails, not the process.
public struct StoredValueError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// The store cannot take writes for now (a full or failing disk); nothing was stored.
/// Callers answer 503 with a `Retry-After`, so the provider or client tries again later.
public struct StoreUnavailable: Error, CustomStringConvertible {
    public var reason: String
    /// How long callers ask to be left alone before trying again.
    public static let retryAfterSeconds = 30

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { "The database cannot store anything now: \(reason)." }
}

public struct BackupError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
