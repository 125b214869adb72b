import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension AppDatabase {
    /// Pending entries due at `now`, oldest first, with the facts the send policy needs.
    public func dueOutbox(now: Date, limit: Int) async throws -> [OutboxItem] {
        try await read { db in try Self.due(db, now: now, limit: limit).compactMap { try Self.item(db, entry: $0, now: now) } }
    }

    static func due(_ db: Database, now: Date, limit: Int) throws -> [OutboxEntry] {
        try OutboxEntry.filter(sql: "state = 'pending' AND due_at <= ?", arguments: [now]).order(sql: "due_at, id").limit(limit).fetchAll(
            db)
    }

    /// `entry` with the facts the send policy needs, read now.
    static func item(_ db: Database, entry: OutboxEntry, now: Date) throws -> OutboxItem? {
        guard let message = try StoredMessage.fetchOne(db, key: entry.messageId),
            let contact = try StoredContact.fetchOne(
                db,
                sql:
                    "SELECT contacts.* FROM conversations JOIN contacts ON contacts.id = conversations.contact_id WHERE conversations.id = ?",
                arguments: [message.conversationId])
        else { return nil }
        let recent = try Date.fetchAll(
            db, sql: Self.recentAutomatedSends, arguments: [message.conversationId, now.addingTimeInterval(-SendPolicy.cadenceWindow)])
        let appointment = try message.appointmentId.flatMap { try StoredAppointment.fetchOne(db, key: $0) }
        let bound = BoundAppointment(kind: message.kind, appointment: appointment, writtenFor: entry.appointmentStartsAt)
        // Asked only of a reply to a contact who is no longer opted in: rare.
        let underCurrentConsent =
            contact.consent != .optedIn && message.kind == .reply
            ? try replyDecidedUnderCurrentConsent(db, replyID: entry.messageId) : false
        return OutboxItem(
            entry: entry, message: message, contactID: contact.id!, consent: contact.consent, numberInvalid: contact.numberInvalid,
            recentAutomatedSends: recent, appointmentStartsAt: message.kind.followsCall ? nil : appointment?.startsAt, appointment: bound,
            isReplyUnderCurrentConsent: underCurrentConsent)
    }

    /// One claiming pass (see `ConversationStore.claimDue`), in one write transaction: the
    /// one writer makes passes take turns.
    public func claimDue(
        owner: String, now: Date, limit: Int, decide: @escaping @Sendable (OutboxItem) -> OutboxDecision?
    ) async throws -> [DecidedEntry] {
        try await write(publishing: { db in
            var pass = OutboxPass(now: now, decide: decide)
            var decided: [DecidedEntry] = []
            for entry in try Self.due(db, now: now, limit: limit) {
                if pass.isFull { break }
                // Whether a send to this contact is in flight, read before the facts (as the
                // PostgreSQL store must).
                let busy =
                    try Bool.fetchOne(
                        db,
                        sql: """
                            SELECT EXISTS (SELECT 1 FROM outbox JOIN messages ON messages.id = outbox.message_id
                                WHERE outbox.state = 'sending' AND messages.conversation_id = (SELECT conversation_id FROM messages WHERE id = ?))
                            """, arguments: [entry.messageId]) ?? false
                guard var item = try Self.item(db, entry: entry, now: now) else { continue }
                if pass.needsMonthCount(entry.businessId) {
                    pass.setMonthCount(try Self.sentOrSending(db, businessID: entry.businessId, now: now), for: entry.businessId)
                }
                guard let decision = pass.next(item, contactBusy: busy) else { continue }
                switch decision {
                case .send:
                    try db.execute(
                        sql: """
                            UPDATE outbox SET state = 'sending', lease_owner = ?, lease_expires_at = ?, attempt_started_at = NULL
                            WHERE id = ? AND state = 'pending'
                            """, arguments: [owner, now.addingTimeInterval(OutboxTerms.sendLease), entry.id])
                    item.entry.state = .sending
                case .hold(let until, let reason):
                    try db.execute(
                        sql: "UPDATE outbox SET due_at = ?, last_error = ? WHERE id = ?", arguments: [until, reason, entry.id])
                case .block(let reason):
                    try Self.settle(db, entry, .blocked, status: "blocked", message: reason)
                case .skip(let reason):
                    try Self.settle(db, entry, .skipped, status: "skipped", message: reason)
                }
                decided.append(DecidedEntry(item: item, decision: decision))
            }
            return (decided, InboxEvent.claimed(decided))
        })
    }

    /// The business's outbound messages sent this month, and those being sent now.
    static func sentOrSending(_ db: Database, businessID: String, now: Date) throws -> Int {
        let (start, end) = OutboxTerms.month(containing: now)
        let sent = try Int.fetchOne(db, sql: Self.sentInPeriod, arguments: [businessID, start, end]) ?? 0
        let sending = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'sending' AND business_id = ?", arguments: [businessID])
        return sent + (sending ?? 0)
    }

    /// The outbox entry of the message `id`, if it went through the outbox.
    public func outboxEntry(messageID id: MessageID) async throws -> OutboxEntry? {
        try await read { db in try OutboxEntry.filter(sql: "message_id = ?", arguments: [id]).fetchOne(db) }
    }

    /// A conversation's automated messages sent since a time. Read from the thread index
    /// (conversation_id, id, sent_at): a row is fetched only for the messages in range.
    static let recentAutomatedSends = """
        SELECT sent_at FROM messages WHERE conversation_id = ? AND sent_at > ?
        AND kind IN ('confirmation_request', 'reminder', 'post_call', 'in_call')
        """

    /// A business's outbound messages sent in [start, end): its conversations, then each
    /// one's thread index.
    static let sentInPeriod = """
        SELECT COUNT(*) FROM messages JOIN conversations ON conversations.id = messages.conversation_id
        WHERE conversations.business_id = ? AND messages.direction = 'outbound' AND messages.sent_at >= ? AND messages.sent_at < ?
        """

    public func beginSend(_ entry: OutboxEntry, owner: String, now: Date) async throws -> AttemptStart {
        try await write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT contacts.consent, messages.kind FROM outbox JOIN messages ON messages.id = outbox.message_id
                        JOIN conversations ON conversations.id = messages.conversation_id
                        JOIN contacts ON contacts.id = conversations.contact_id
                        WHERE outbox.id = ? AND outbox.state = 'sending' AND outbox.lease_owner = ?
                        """, arguments: [entry.id, owner])
            else { return .lost }
            if row[0] != ConsentState.optedIn.rawValue, row[1] != MessageKind.reply.rawValue { return .optedOut }
            try db.execute(
                sql: "UPDATE outbox SET attempts = attempts + 1, attempt_started_at = ?, lease_expires_at = ? WHERE id = ?",
                arguments: [now, now.addingTimeInterval(OutboxTerms.sendLease), entry.id])
            return .begun
        }
    }

    /// Claims interrupted by a crash or an instance gone: an attempt that began becomes
    /// `unknown` (never retried: the provider may have the message; a status callback that
    /// names it settles it later), a claim whose attempt never began goes back to pending.
    /// Only claims that can no longer be in flight are touched: those whose lease expired,
    /// and with `restartOf` those of that instance (restarting under its own name, it has
    /// no send in flight yet). Another instance's current sends are left alone.
    @discardableResult
    public func recoverInterruptedSends(restartOf owner: String?, now: Date) async throws -> Int {
        try await write(publishing: { db in
            let interrupted = """
                state = 'sending' AND (lease_expires_at IS NULL OR lease_expires_at <= ? OR lease_owner = ?)
                """
            let lost = try Row.fetchAll(
                db,
                sql: """
                    SELECT outbox.business_id, messages.to_number FROM outbox JOIN messages ON messages.id = outbox.message_id
                    WHERE \(interrupted) AND attempt_started_at IS NOT NULL
                    """, arguments: [now, owner])
            try db.execute(
                sql: """
                    UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL
                    WHERE \(interrupted) AND attempt_started_at IS NULL
                    """, arguments: [now, owner])
            try db.execute(
                sql: "UPDATE messages SET status = 'unknown' WHERE id IN (SELECT message_id FROM outbox WHERE \(interrupted))",
                arguments: [now, owner])
            try db.execute(
                sql: "UPDATE outbox SET state = 'unknown', last_error = 'interrupted while sending' WHERE \(interrupted)",
                arguments: [now, owner])
            return (db.changesCount, lost.map { InboxEvent(businessID: $0[0], kind: .status, phone: $0[1]) })
        })
    }

    /// Records the outcome of sending `entry` (claimed, or still pending for a block).
    public func finishSend(_ entry: OutboxEntry, result: SendResult, now: Date) async throws {
        try await write(publishing: { db in
            guard let current = try OutboxEntry.fetchOne(db, key: entry.id), OutboxEntry.takesOutcome(current.state, result),
                let phone = try String.fetchOne(db, sql: "SELECT to_number FROM messages WHERE id = ?", arguments: [entry.messageId])
            else { return ((), []) }
            func settle(_ state: OutboxState, status: String, code: String? = nil, message: String? = nil) throws {
                try Self.settle(db, entry, state, status: status, code: code, message: message)
            }
            switch result {
            case .sent(let providerID, let status):
                try db.execute(sql: "UPDATE outbox SET state = 'sent', last_error = NULL WHERE id = ?", arguments: [entry.id])
                // A callback may have got here first (it names our id): never move its status back.
                let current = try String.fetchOne(db, sql: "SELECT status FROM messages WHERE id = ?", arguments: [entry.messageId])
                let reported = status ?? .sent
                let next = current.flatMap(DeliveryStatus.init(rawValue:)).map { DeliveryStatus.advance($0, to: reported) } ?? reported
                try db.execute(
                    sql: """
                        UPDATE messages SET status = ?, sent_at = COALESCE(sent_at, ?), provider_message_id = COALESCE(provider_message_id, ?)
                        WHERE id = ?
                        """, arguments: [next.rawValue, now, providerID, entry.messageId])
                if let message = try StoredMessage.fetchOne(db, key: entry.messageId) {
                    if message.kind == .reminder, let appointment = message.appointmentId {
                        // A reminder asks for an answer: an unanswered appointment awaits one again.
                        try db.execute(
                            sql: "UPDATE appointments SET state = 'awaiting_reply', updated_at = ? WHERE id = ? AND state = 'scheduled'",
                            arguments: [now, appointment])
                    }
                    if let sid = message.providerMessageId { try Self.applyHeldCallbacks(db, provider: message.provider, sid: sid) }
                }
            case .blocked(let reason):
                try settle(.blocked, status: "blocked", message: reason)
            case .skipped(let reason):
                try settle(.skipped, status: "skipped", message: reason)
            case .failed(let code, let message):
                try settle(.failed, status: "failed", code: code, message: message)
            case .optedOut(let code, let message):
                try settle(.failed, status: "failed", code: code, message: message)
                try Self.recordProviderOptOut(db, messageID: entry.messageId, now: now)
            case .invalidNumber(let code, let message):
                try settle(.failed, status: "failed", code: code, message: message)
                try db.execute(
                    sql: """
                        UPDATE contacts SET number_invalid = 1
                        WHERE id = (SELECT contact_id FROM conversations JOIN messages ON messages.conversation_id = conversations.id WHERE messages.id = ?)
                        """, arguments: [entry.messageId])
            case .unknown(let reason):
                try settle(.unknown, status: "unknown", message: "not sent again: the provider may have it (\(reason))")
            case .retry(let delay, let reason):
                if current.attempts >= OutboxTerms.maxSendAttempts {
                    try settle(.failed, status: "failed", message: "gave up after \(current.attempts) attempts: \(reason)")
                } else {
                    try db.execute(
                        sql: "UPDATE outbox SET state = 'pending', due_at = ?, last_error = ? WHERE id = ?",
                        arguments: [now.addingTimeInterval(delay), reason, entry.id])
                    try db.execute(sql: "UPDATE messages SET status = 'queued' WHERE id = ?", arguments: [entry.messageId])
                }
            }
            return ((), InboxEvent.status(businessID: entry.businessId, phone: phone, optsOut: result.optsOut))
        })
    }

    /// Ends `entry` in `state`, its message in `status`, with the error if there was one.
    static func settle(
        _ db: Database, _ entry: OutboxEntry, _ state: OutboxState, status: String, code: String? = nil, message: String? = nil
    ) throws {
        try db.execute(sql: "UPDATE outbox SET state = ?, last_error = ? WHERE id = ?", arguments: [state, message, entry.id])
        try db.execute(
            sql: "UPDATE messages SET status = ?, error_code = ?, error_message = ? WHERE id = ?",
            arguments: [status, code, message, entry.messageId])
    }

    static func recordProviderOptOut(_ db: Database, messageID: MessageID, now: Date) throws {
        guard
            var contact = try StoredContact.fetchOne(
                db,
                sql: """
                    SELECT contacts.* FROM contacts JOIN conversations ON conversations.contact_id = contacts.id
                    JOIN messages ON messages.conversation_id = conversations.id WHERE messages.id = ?
                    """, arguments: [messageID]), contact.consent == .optedIn
        else { return }
        var event = StoredConsentEvent(
            id: nil, businessId: contact.businessId, contactId: contact.id!, phone: contact.phone, fromState: .optedIn, toState: .optedOut,
            source: .provider, messageId: nil, createdAt: now)
        try event.insert(db)
        contact.consent = .optedOut
        try contact.update(db, columns: ["consent"])
    }
}
