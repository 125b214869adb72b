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
    /// The business's outbound messages this calendar month (UTC), sent or being sent.
    public var sentThisMonth: Int
    /// For a reply to a contact no longer opted in: whether it was decided under the
    /// consent the contact still has (see `replyDecidedUnderCurrentConsent`).
    public var isReplyUnderCurrentConsent: Bool

    public init(
        entry: OutboxEntry, message: StoredMessage, contactID: ContactID, consent: ConsentState, numberInvalid: Bool,
        recentAutomatedSends: [Date], appointmentStartsAt: Date? = nil, appointment: BoundAppointment? = nil, sentThisMonth: Int = 0,
        isReplyUnderCurrentConsent: Bool = false
    ) {
        self.entry = entry
        self.message = message
        self.contactID = contactID
        self.consent = consent
        self.numberInvalid = numberInvalid
        self.recentAutomatedSends = recentAutomatedSends
        self.appointmentStartsAt = appointmentStartsAt
        self.appointment = appointment
        self.sentThisMonth = sentThisMonth
        self.isReplyUnderCurrentConsent = isReplyUnderCurrentConsent
    }
}

extension BoundAppointment {
    /// The appointment a confirmation request or reminder of `kind` is about, as it stands
    /// now; nil for other kinds, or when it has no appointment.
    public init?(kind: MessageKind, appointment: StoredAppointment?, writtenFor: Date?) {
        guard let appointment else { return nil }
        switch kind {
        case .confirmationRequest:
            self.init(purpose: .confirmationRequest, state: appointment.state, startsAt: appointment.startsAt, writtenFor: writtenFor)
        case .reminder:
            self.init(purpose: .reminder, state: appointment.state, startsAt: appointment.startsAt, writtenFor: writtenFor)
        default:
            return nil
        }
    }
}

extension OutboxEntry {
    /// Whether an entry in `state` records a send's outcome: only a claimed one (`sending`),
    /// or one settled `unknown` meanwhile (its lease ran out) when the provider took the
    /// message after all. A pending, blocked or finished entry keeps what it says.
    public static func takesOutcome(_ state: OutboxState, _ result: SendResult) -> Bool {
        switch (state, result) {
        case (.sending, _), (.unknown, .sent): true
        default: false
        }
    }
}

/// Whether a claimed send may go to the provider now (`beginSend`).
public enum AttemptStart: Sendable, Equatable {
    /// Begun and recorded: call the provider.
    case begun
    /// No longer this instance's claim (its lease ran out and another settled it).
    case lost
    /// The contact opted out after the claim: record it blocked, do not send.
    case optedOut
}

/// What the worker decides about one due entry in a claiming pass (`claimDue`).
public enum OutboxDecision: Sendable, Equatable {
    /// Claim it: the worker sends it now.
    case send
    /// Keep it pending until then; later messages to the contact wait too.
    case hold(until: Date, reason: String)
    /// Never send it: recorded as `blocked`.
    case block(reason: String)
    /// Never send it: recorded as `skipped`.
    case skip(reason: String)
}

/// A due entry and what its pass decided.
public struct DecidedEntry: Sendable {
    public var item: OutboxItem
    public var decision: OutboxDecision

    public init(item: OutboxItem, decision: OutboxDecision) {
        self.item = item
        self.decision = decision
    }
}

/// The rules of one claiming pass, the same in every store: the store reads each due entry
/// (oldest first) with its facts in the pass's transaction and asks `next`, which keeps a
/// contact's messages in order and counts what the pass claims in the facts of the rest.
public struct OutboxPass {
    let decide: @Sendable (OutboxItem) -> OutboxDecision?
    var heldContacts: [ContactID: Date] = [:]
    /// Contacts with a message claimed, or left for a later pass, in this pass.
    var waitingContacts: Set<ContactID> = []
    var claimedAutomated: [ContactID: [Date]] = [:]
    var monthCounts: [String: Int] = [:]
    var claims = 0
    let now: Date
    /// The most a pass claims: the worker sends them together right after the pass (each
    /// to another contact), so a claim is never older than one send when its message goes
    /// out (a STOP arriving in between is seen by the next pass).
    public static let maxClaims = 32

    public init(now: Date, decide: @escaping @Sendable (OutboxItem) -> OutboxDecision?) {
        self.now = now
        self.decide = decide
    }

    /// Whether the pass has claimed all it may: the store stops reading entries (and their
    /// facts) then; what is left is decided by later passes.
    public var isFull: Bool { claims >= Self.maxClaims }

    /// Whether the pass has the month's count for `businessID` yet; the store reads it once.
    public func needsMonthCount(_ businessID: String) -> Bool { monthCounts[businessID] == nil }

    public mutating func setMonthCount(_ count: Int, for businessID: String) { monthCounts[businessID] = count }

    /// The decision for `item`, or nil to leave it as it is for a later pass: a message to
    /// a contact whose earlier message is being sent (by any instance, `contactBusy`), or
    /// was claimed or left in this pass, waits; so a contact's messages go one at a time,
    /// in order, even when a send on another instance ends in the middle of this pass.
    public mutating func next(_ item: OutboxItem, contactBusy: Bool) -> OutboxDecision? {
        let contact = item.contactID
        if let until = heldContacts[contact] {
            return .hold(until: until, reason: "waiting for an earlier message to this contact")
        }
        if contactBusy || waitingContacts.contains(contact) || claims >= Self.maxClaims {
            waitingContacts.insert(contact)
            return nil
        }
        var item = item
        item.recentAutomatedSends += claimedAutomated[contact, default: []]
        item.sentThisMonth = monthCounts[item.entry.businessId, default: 0]
        let decision = decide(item)
        switch decision {
        case .hold(let until, _):
            heldContacts[contact] = until
        case .send:
            claims += 1
            waitingContacts.insert(contact)
            monthCounts[item.entry.businessId, default: 0] += 1
            if item.message.isAutomated { claimedAutomated[contact, default: []].append(now) }
        case nil:
            waitingContacts.insert(contact)
        case .block, .skip:
            break
        }
        return decision
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
