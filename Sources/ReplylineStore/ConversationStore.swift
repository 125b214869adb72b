import Foundation
import ReplylineCore

/// Everything the server and the command line keep: threads, appointments, consent and its
/// ledger, the outbox, reports and backups. One implementation per database
/// (`AppDatabase` in ReplylineSQLite); the values that cross it are plain Swift.
///
/// Every write is atomic and acknowledged only once durable. Every operation stays correct
/// with several writers on one database: rows are created by insert-or-get, an outbox entry
/// is claimed by one worker with a lease, and recovery touches only expired leases.
public protocol ConversationStore: Sendable {
    // MARK: Inbound messages and status callbacks

    /// Records one inbound message exactly once, in one transaction: the message, the
    /// engine's decision applied (consent, appointment, conversation), the replies as
    /// outbound messages, and the rendered webhook response. A provider message id seen
    /// before returns the stored response and changes nothing.
    ///
    /// - Parameters:
    ///   - decide: the pure engine, called with the contact's state read in this transaction.
    ///   - render: the provider's reply format for the decision; nil when its replies go
    ///     through the outbox instead: each is queued (due now) and the response is empty.
    func recordInbound(
        _ message: InboundMessage, businessID: String, now: Date, decide: @escaping @Sendable (ContactSnapshot) -> Decision,
        render: (@Sendable (Decision) -> String)?
    ) async throws -> InboundOutcome

    /// Records a callback in the message's status history and moves its status forward
    /// only; a callback for an id not yet known is held and applied when the id appears.
    /// One that does not belong to its message's business (number, or the account
    /// `expectedAccounts` names for the business) changes nothing and is `ignored`.
    func recordStatusCallback(
        _ callback: StatusCallback, now: Date, expectedAccounts: [String: String]
    ) async throws -> StatusCallbackOutcome

    // MARK: Inbox

    /// A page of a business's inbox, newest activity first, after `cursor`.
    func conversations(
        businessID: String, filter: ConversationFilter, limit: Int, after cursor: ConversationCursor?
    ) async throws -> [ConversationSummary]
    /// What the inbox's filter chips and the tab title count.
    func inboxCounts(businessID: String) async throws -> InboxCounts
    func conversation(businessID: String, phone: String) async throws -> ConversationSummary?
    /// The newest `limit` messages of a thread older than `before`, oldest first, each with
    /// its status history and its hold at `now`. Nil when there is no thread.
    func threadPage(businessID: String, phone: String, limit: Int, before: MessageID?, now: Date) async throws -> ThreadPage?
    /// The whole thread, oldest message first; nil when there is none.
    func thread(businessID: String, phone: String) async throws -> ConversationThread?
    /// The holds of these messages at `now`; messages not held are absent.
    func holds(messageIDs: [MessageID], now: Date) async throws -> [MessageID: MessageHold]
    /// Marks the thread read. False when there is no such thread.
    func markRead(businessID: String, phone: String) async throws -> Bool
    /// Queues an outbound message of `kind` after checking consent (throws `SendRefusal`).
    /// A manual message answers the conversation, so it no longer needs a reply.
    func queueOutbound(
        businessID: String, phone: String, kind: MessageKind, body: String, media: [InboundMessage.Media], appointmentID: String?,
        provider: String, fromNumber: String, now: Date
    ) async throws -> StoredMessage

    // MARK: Appointments

    /// Creates an appointment, queues its confirmation request unless the contact opted out,
    /// and schedules its reminders; one transaction.
    func createAppointment(
        _ new: NewAppointment, businessID: String, provider: String, fromNumber: String, now: Date,
        compose: @escaping @Sendable (Appointment) -> AppointmentMessages
    ) async throws -> CreatedAppointment
    /// The appointment with `id`, only if it belongs to `businessID`.
    func appointment(id: String, businessID: String) async throws -> (StoredAppointment, phone: String)?
    /// Applies `update` in one transaction (throws `AppointmentUpdateError`): a new time
    /// asks for confirmation again, a final state cancels what is still to be sent.
    func updateAppointment(
        id: String, businessID: String, update: AppointmentUpdate, provider: String, fromNumber: String, now: Date,
        compose: @escaping @Sendable (Appointment) -> AppointmentMessages
    ) async throws -> (appointment: StoredAppointment, phone: String, confirmationMessageID: MessageID?)
    /// Up to `limit` of a business's appointments matching `filter`, by start time then id.
    func appointments(
        businessID: String, filter: AppointmentFilter, limit: Int, after cursor: AppointmentCursor?
    ) async throws -> [ListedAppointment]
    /// The appointments of one contact, soonest first.
    func appointments(businessID: String, phone: String) async throws -> [StoredAppointment]

    // MARK: Consent

    /// The consent ledger of one contact, oldest first.
    func consentEvents(businessID: String, phone: String) async throws -> [StoredConsentEvent]
    /// Every consent change of a business (of all of them when nil), oldest first.
    func consentLedger(businessID: String?) async throws -> [StoredConsentEvent]

    // MARK: Outbox

    /// Pending entries due at `now`, oldest first, with the facts the send policy needs.
    func dueOutbox(now: Date, limit: Int) async throws -> [OutboxItem]
    func outboxEntry(messageID: MessageID) async throws -> OutboxEntry?
    /// One claiming pass for `owner`, in one transaction: up to `limit` due entries that no
    /// other worker is deciding on, oldest first, each with its facts read in this
    /// transaction (sends in flight on any instance count as sent), go through an
    /// `OutboxPass` asking `decide`; holds, blocks and skips are recorded, and entries to
    /// send are claimed until `now + sendLease` (`beginSend` then starts each attempt). Passes of several instances take turns, so
    /// cadence and the plan's monthly limit hold across them. Returns what was decided;
    /// the worker sends what it claimed and records each outcome with `finishSend`.
    func claimDue(
        owner: String, now: Date, limit: Int, decide: @escaping @Sendable (OutboxItem) -> OutboxDecision?
    ) async throws -> [DecidedEntry]
    /// Begins the attempt to send a claimed entry, just before the provider is called:
    /// counts it and renews the lease, unless the entry is no longer `owner`'s claim or its
    /// contact opted out since the claim (a reply excepted: its pass decided it knowing the
    /// consent). Nothing is changed unless it begins.
    func beginSend(_ entry: OutboxEntry, owner: String, now: Date) async throws -> AttemptStart
    /// Settles the claims whose lease expired (and with `restartOf`, that instance's own):
    /// one whose attempt began becomes `unknown` (the provider may have it), one whose
    /// attempt never began goes back to `pending`. Returns how many became `unknown`.
    func recoverInterruptedSends(restartOf owner: String?, now: Date) async throws -> Int
    /// Records how sending `entry` ended.
    func finishSend(_ entry: OutboxEntry, result: SendResult, now: Date) async throws

    // MARK: Calls

    /// Records a call event and the SMS it asks for, in one transaction: the call is created,
    /// or its variables merged and its end time set. An SMS whose key the call already has
    /// is left as it is, so a retried event sends nothing twice; a new one is queued (due at
    /// its `dueAt`) unless refused, or the contact opted out, which is recorded instead.
    /// Throws `CallEventConflict` when the call id is recorded for another phone or agent.
    func recordCall(
        _ call: CallRecord, sms: [CallSMSRequest], businessID: String, provider: String, fromNumber: String, now: Date
    ) async throws -> CallEventOutcome
    /// The call's log, each SMS with its status history, its hold at `now` and the replies; nil when unknown.
    func callLog(businessID: String, callID: String, now: Date) async throws -> CallLog?
    /// The logs of calls first heard of at `since` or later, oldest first, after `cursor`.
    func callLogs(businessID: String, since: Date, limit: Int, after cursor: CallCursor?, now: Date) async throws -> CallLogPage

    // MARK: Staff and sessions

    /// Adds a staff account; throws `StaffAccountError.emailTaken` when its email has one.
    func addStaff(_ account: StaffAccount) async throws
    /// The account with `email` (normalized by `StaffAccount.normalizedEmail`).
    func staffAccount(email: String) async throws -> StaffAccount?
    /// A business's accounts (every business's when nil), by email.
    func staffAccounts(businessID: String?) async throws -> [StaffAccount]
    /// Removes an account and ends its sessions. False when there is none.
    func removeStaff(email: String) async throws -> Bool
    /// Sets an account's password hash and ends its sessions. False when there is none.
    func setStaffPassword(email: String, passwordHash: String) async throws -> Bool
    /// Starts a session for `staffID`, keyed by a hash of the cookie's token, and forgets
    /// sessions past `lifetime` that were never used again.
    func createSession(tokenHash: String, staffID: String, csrfToken: String, lifetime: SessionLifetime, now: Date) async throws
    /// The live session with `tokenHash`, its last use written when older than
    /// `SessionLifetime.touchInterval`; nil, and the row deleted, once past `lifetime`.
    func session(tokenHash: String, lifetime: SessionLifetime, now: Date) async throws -> StaffSession?
    func endSession(tokenHash: String) async throws
    /// Records a failed sign-in under each key (an account's, an address's), and forgets
    /// failures older than `SignInLimit.window`, so the limit holds across instances.
    func recordSignInFailure(keys: [String], now: Date) async throws
    /// The times of each key's failures since `since`, oldest first; keys with none are absent.
    func signInFailures(keys: [String], since: Date) async throws -> [String: [Date]]

    // MARK: Reports, backups and checks

    func usage(businessID: String, from start: Date, to end: Date) async throws -> UsageFigures
    /// A business's outbound messages matching `filter`, newest first, older than `before`.
    func outboundMessages(businessID: String, filter: OutboundFilter, limit: Int, before: MessageID?) async throws -> [OutboundListing]
    /// A business's messages in [start, end) counted per quarter hour, oldest first; quarter hours with none are absent.
    func messageVolume(businessID: String, from start: Date, to end: Date) async throws -> [MessageVolume]
    func deliverability(businessID: String, from start: Date, to end: Date) async throws -> DeliverabilityFigures
    /// The businesses that have contacts in the store.
    func businessIDs() async throws -> [String]
    /// Rows per kind of record, for checks that bad input changed nothing.
    func tableCounts() async throws -> [String: Int]
    /// A consistent copy of the whole store as a new SQLite file at `path`; refuses to overwrite.
    func backup(to path: String) async throws
    /// "ok" when the store's files are sound, else what is wrong.
    func integrityCheck() async throws -> String
    /// Throws `StoreUnavailable` when the store cannot be reached now (`/healthz`).
    func checkAvailable() async throws

    // MARK: Live events

    /// The business's inbox events from now on, each published once its change has
    /// committed (on PostgreSQL, the changes of every instance on the database).
    func inboxEvents(businessID: String) async -> InboxEventSubscription
}

extension ConversationStore {
    public func conversations(
        businessID: String, unreadOnly: Bool, needsReplyOnly: Bool, limit: Int, after cursor: ConversationCursor?
    ) async throws -> [ConversationSummary] {
        try await conversations(
            businessID: businessID, filter: ConversationFilter(unreadOnly: unreadOnly, needsReplyOnly: needsReplyOnly), limit: limit,
            after: cursor)
    }

    public func recordStatusCallback(_ callback: StatusCallback, now: Date) async throws -> StatusCallbackOutcome {
        try await recordStatusCallback(callback, now: now, expectedAccounts: [:])
    }

    @discardableResult
    public func recoverInterruptedSends(now: Date) async throws -> Int {
        try await recoverInterruptedSends(restartOf: nil, now: now)
    }

    /// Queues a message written by staff (see `queueOutbound`).
    public func queueManualMessage(
        businessID: String, phone: String, body: String, media: [InboundMessage.Media], provider: String, fromNumber: String, now: Date
    ) async throws -> StoredMessage {
        try await queueOutbound(
            businessID: businessID, phone: phone, kind: .manual, body: body, media: media, appointmentID: nil, provider: provider,
            fromNumber: fromNumber, now: now)
    }
}

/// The outbox's fixed terms, the same for every store.
public enum OutboxTerms {
    /// Attempts before a send that keeps failing for a passing reason is given up.
    public static let maxSendAttempts = 8

    /// How long a claim holds an entry: longer than any send takes (the REST client gives
    /// up after 15 seconds), so an entry past its lease was left by an instance that died.
    public static let sendLease: TimeInterval = 60

    /// The calendar month (UTC) holding `date`, as [start, end): the period the plan's limit
    /// and the usage reports both count in, so they always agree.
    public static func month(containing date: Date) -> (start: Date, end: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
        return (start, calendar.date(byAdding: .month, value: 1, to: start)!)
    }
}
