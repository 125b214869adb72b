import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

extension PostgresStore {
    /// Pending entries due at `now`, oldest first, with the facts the send policy needs.
    public func dueOutbox(now: Date, limit: Int) async throws -> [OutboxItem] {
        try await read { connection in
            var items: [OutboxItem] = []
            for row in try await connection.rows(Self.due(now: now, limit: limit, lock: false)) {
                items.append(try await Self.item(connection, row: row, now: now))
            }
            return items
        }
    }

    /// The due entries with their messages and contacts, oldest first; with `lock`, each
    /// row locked for this transaction and those another transaction holds skipped.
    static func due(now: Date, limit: Int, lock: Bool) -> PostgresQuery {
        """
        SELECT \(unescaped: OutboxEntry.columns()), \(unescaped: StoredMessage.columns()), contacts.id, contacts.consent,
            contacts.number_invalid
        FROM outbox JOIN messages ON messages.id = outbox.message_id
        JOIN conversations ON conversations.id = messages.conversation_id JOIN contacts ON contacts.id = conversations.contact_id
        WHERE outbox.state = 'pending' AND outbox.due_at <= \(now) ORDER BY outbox.due_at, outbox.id LIMIT \(limit)
        \(unescaped: lock ? "FOR UPDATE OF outbox SKIP LOCKED" : "")
        """
    }

    /// A row of `due` with the rest of the facts the send policy needs, read now.
    static func item(_ connection: PostgresConnection, row: PostgresRandomAccessRow, now: Date) async throws -> OutboxItem {
        let entry = try OutboxEntry(postgres: row)
        let message = try StoredMessage(postgres: row, from: 8)
        let recent = try await connection.rows(
            """
            SELECT sent_at FROM messages WHERE conversation_id = \(message.conversationId.rawValue)
            AND sent_at > \(now.addingTimeInterval(-SendPolicy.cadenceWindow))
            AND kind IN ('confirmation_request', 'reminder', 'post_call', 'in_call')
            """
        ).map { try $0.get(0, as: Date.self) }
        var appointment: StoredAppointment?
        if let id = message.appointmentId {
            appointment = try await connection.row("SELECT \(unescaped: StoredAppointment.columns()) FROM appointments WHERE id = \(id)")
                .map({ try StoredAppointment(postgres: $0) })
        }
        let bound = BoundAppointment(kind: message.kind, appointment: appointment, writtenFor: entry.appointmentStartsAt)
        let consent: ConsentState = try row.named(31)
        // Asked only of a reply to a contact who is no longer opted in: rare.
        let underCurrentConsent =
            consent != .optedIn && message.kind == .reply
            ? try await replyDecidedUnderCurrentConsent(connection, replyID: entry.messageId.rawValue) : false
        return OutboxItem(
            entry: entry, message: message, contactID: ContactID(try row.get(30)), consent: consent, numberInvalid: try row.get(32),
            recentAutomatedSends: recent, appointmentStartsAt: message.kind.followsCall ? nil : appointment?.startsAt, appointment: bound,
            isReplyUnderCurrentConsent: underCurrentConsent)
    }

    /// An arbitrary constant all instances agree on: claiming passes take turns under it.
    static let claimLock: Int64 = 0x7265_706c_6f75_74

    /// One claiming pass (see `ConversationStore.claimDue`). Passes take turns under an
    /// advisory lock, so each reads the counts the previous one left (cadence, the month's
    /// sends); a pass is short, as no provider is called in it. Rows another transaction
    /// holds (a send being recorded, an appointment being cancelled) are skipped, not waited for.
    public func claimDue(
        owner: String, now: Date, limit: Int, decide: @escaping @Sendable (OutboxItem) -> OutboxDecision?
    ) async throws -> [DecidedEntry] {
        try await write(notifying: { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(Self.claimLock))")
            var pass = OutboxPass(now: now, decide: decide)
            var decided: [DecidedEntry] = []
            for row in try await connection.rows(Self.due(now: now, limit: limit, lock: true)) {
                if pass.isFull { break }
                // Whether a send to this contact is in flight is read before the facts: no
                // send can begin while this pass holds the lock, so one that ends after this
                // read is in the sends the facts count.
                let conversationID: Int64 = try row.get(9)
                let busy =
                    try await connection.row(
                        """
                        SELECT EXISTS (SELECT 1 FROM outbox JOIN messages ON messages.id = outbox.message_id
                            WHERE outbox.state = 'sending' AND messages.conversation_id = \(conversationID))
                        """)?.get(0, as: Bool.self) ?? false
                var item = try await Self.item(connection, row: row, now: now)
                let entryID = item.entry.id!.rawValue
                let business = item.entry.businessId
                if pass.needsMonthCount(business) {
                    let (start, end) = OutboxTerms.month(containing: now)
                    let count = try await connection.row(
                        """
                        SELECT (SELECT COUNT(*) FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                            WHERE conversations.business_id = \(business) AND messages.direction = 'outbound'
                            AND messages.sent_at >= \(start) AND messages.sent_at < \(end))
                            + (SELECT COUNT(*) FROM outbox WHERE state = 'sending' AND business_id = \(business))
                        """)?.get(0, as: Int.self)
                    pass.setMonthCount(count ?? 0, for: business)
                }
                guard let decision = pass.next(item, contactBusy: busy) else { continue }
                switch decision {
                case .send:
                    try await connection.run(
                        """
                        UPDATE outbox SET state = 'sending', lease_owner = \(owner),
                            lease_expires_at = \(now.addingTimeInterval(OutboxTerms.sendLease)), attempt_started_at = NULL
                        WHERE id = \(entryID)
                        """)
                    item.entry.state = .sending
                case .hold(let until, let reason):
                    try await connection.run("UPDATE outbox SET due_at = \(until), last_error = \(reason) WHERE id = \(entryID)")
                case .block(let reason):
                    try await Self.settle(connection, item.entry, .blocked, status: "blocked", message: reason)
                case .skip(let reason):
                    try await Self.settle(connection, item.entry, .skipped, status: "skipped", message: reason)
                }
                decided.append(DecidedEntry(item: item, decision: decision))
            }
            return (decided, InboxEvent.claimed(decided))
        })
    }

    /// Ends `entry` in `state`, its message in `status`, with the error if there was one.
    static func settle(
        _ connection: PostgresConnection, _ entry: OutboxEntry, _ state: OutboxState, status: String, code: String? = nil,
        message: String? = nil
    ) async throws {
        try await connection.run("UPDATE outbox SET state = \(state.rawValue), last_error = \(message) WHERE id = \(entry.id!.rawValue)")
        try await connection.run(
            """
            UPDATE messages SET status = \(status), error_code = \(code), error_message = \(message)
            WHERE id = \(entry.messageId.rawValue)
            """)
    }

    public func outboxEntry(messageID id: MessageID) async throws -> OutboxEntry? {
        try await read { connection in
            try await connection.row("SELECT \(unescaped: OutboxEntry.columns()) FROM outbox WHERE message_id = \(id.rawValue)")
                .map({ try OutboxEntry(postgres: $0) })
        }
    }

    public func beginSend(_ entry: OutboxEntry, owner: String, now: Date) async throws -> AttemptStart {
        let id = entry.id!.rawValue
        return try await write { connection in
            guard
                let row = try await connection.row(
                    """
                    SELECT contacts.consent, messages.kind FROM outbox JOIN messages ON messages.id = outbox.message_id
                    JOIN conversations ON conversations.id = messages.conversation_id JOIN contacts ON contacts.id = conversations.contact_id
                    WHERE outbox.id = \(id) AND outbox.state = 'sending' AND outbox.lease_owner = \(owner) FOR UPDATE OF outbox
                    """)
            else { return .lost }
            let consent: ConsentState = try row.named(0)
            let kind: MessageKind = try row.named(1)
            if consent != .optedIn, kind != .reply { return .optedOut }
            try await connection.run(
                """
                UPDATE outbox SET attempts = attempts + 1, attempt_started_at = \(now),
                    lease_expires_at = \(now.addingTimeInterval(OutboxTerms.sendLease))
                WHERE id = \(id)
                """)
            return .begun
        }
    }

    /// Claims past their lease (and with `restartOf`, that instance's own): an attempt that
    /// began becomes `unknown` (the provider may have it, so it is never sent again
    /// blindly), a claim whose attempt never began goes back to pending.
    public func recoverInterruptedSends(restartOf owner: String?, now: Date) async throws -> Int {
        try await write(notifying: { connection in
            let lost = try await connection.rows(
                """
                WITH interrupted AS (
                    SELECT id, attempt_started_at FROM outbox
                    WHERE state = 'sending' AND (lease_expires_at IS NULL OR lease_expires_at <= \(now) OR lease_owner = \(owner))
                    FOR UPDATE),
                released AS (
                    UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL FROM interrupted
                    WHERE outbox.id = interrupted.id AND interrupted.attempt_started_at IS NULL),
                lost AS (
                    UPDATE outbox SET state = 'unknown', last_error = 'interrupted while sending' FROM interrupted
                    WHERE outbox.id = interrupted.id AND interrupted.attempt_started_at IS NOT NULL
                    RETURNING outbox.message_id)
                UPDATE messages SET status = 'unknown' FROM lost, conversations
                WHERE messages.id = lost.message_id AND conversations.id = messages.conversation_id
                RETURNING conversations.business_id, messages.to_number
                """
            ).map { InboxEvent(businessID: try $0.get(0), kind: .status, phone: try $0.get(1)) }
            return (lost.count, lost)
        })
    }

    public func finishSend(_ entry: OutboxEntry, result: SendResult, now: Date) async throws {
        let entryID = entry.id!.rawValue
        let messageID = entry.messageId.rawValue
        try await write(notifying: { connection in
            // A message sent by the provider gets its id now: held callbacks for that id
            // must see it (see `recordStatusCallback`).
            if case .sent(let providerID?, _) = result,
                let provider = try await connection.row("SELECT provider FROM messages WHERE id = \(messageID)")?.get(0, as: String.self)
            {
                try await Self.lockProviderMessage(connection, provider: provider, id: providerID)
            }
            guard
                let row = try await connection.row(
                    """
                    SELECT \(unescaped: OutboxEntry.columns()), messages.to_number FROM outbox JOIN messages ON messages.id = outbox.message_id
                    WHERE outbox.id = \(entryID) FOR UPDATE OF outbox
                    """)
            else { return ((), []) }
            let current = try OutboxEntry(postgres: row)
            guard OutboxEntry.takesOutcome(current.state, result) else { return ((), []) }
            let events = InboxEvent.status(businessID: entry.businessId, phone: try row.get(8), optsOut: result.optsOut)
            func settle(_ state: OutboxState, status: String, code: String? = nil, message: String? = nil) async throws {
                try await Self.settle(connection, current, state, status: status, code: code, message: message)
            }
            switch result {
            case .sent(let providerID, let status):
                try await connection.run("UPDATE outbox SET state = 'sent', last_error = NULL WHERE id = \(entryID)")
                guard
                    let message = try await connection.row(
                        "SELECT \(unescaped: StoredMessage.columns()) FROM messages WHERE id = \(messageID) FOR UPDATE"
                    ).map({ try StoredMessage(postgres: $0) })
                else { return ((), events) }
                // A callback may have got here first (it names our id): never move its status back.
                let reported = status ?? .sent
                let next = message.status.deliveryStatus.map { DeliveryStatus.advance($0, to: reported) } ?? reported
                try await connection.run(
                    """
                    UPDATE messages SET status = \(next.rawValue), sent_at = COALESCE(sent_at, \(now)),
                        provider_message_id = COALESCE(provider_message_id, \(providerID))
                    WHERE id = \(messageID)
                    """)
                if message.kind == .reminder, let appointment = message.appointmentId {
                    // A reminder asks for an answer: an unanswered appointment awaits one again.
                    try await connection.run(
                        """
                        UPDATE appointments SET state = 'awaiting_reply', updated_at = \(now)
                        WHERE id = \(appointment) AND state = 'scheduled'
                        """)
                }
                if let sid = message.providerMessageId ?? providerID {
                    try await Self.applyHeldCallbacks(connection, provider: message.provider, sid: sid)
                }
            case .blocked(let reason):
                try await settle(.blocked, status: "blocked", message: reason)
            case .skipped(let reason):
                try await settle(.skipped, status: "skipped", message: reason)
            case .failed(let code, let message):
                try await settle(.failed, status: "failed", code: code, message: message)
            case .optedOut(let code, let message):
                try await settle(.failed, status: "failed", code: code, message: message)
                try await Self.recordProviderOptOut(connection, messageID: messageID, now: now)
            case .invalidNumber(let code, let message):
                try await settle(.failed, status: "failed", code: code, message: message)
                try await connection.run(
                    """
                    UPDATE contacts SET number_invalid = true WHERE id = (
                        SELECT contact_id FROM conversations JOIN messages ON messages.conversation_id = conversations.id
                        WHERE messages.id = \(messageID))
                    """)
            case .unknown(let reason):
                try await settle(.unknown, status: "unknown", message: "not sent again: the provider may have it (\(reason))")
            case .retry(let delay, let reason):
                if current.attempts >= OutboxTerms.maxSendAttempts {
                    try await settle(.failed, status: "failed", message: "gave up after \(current.attempts) attempts: \(reason)")
                } else {
                    try await connection.run(
                        """
                        UPDATE outbox SET state = 'pending', due_at = \(now.addingTimeInterval(delay)), last_error = \(reason)
                        WHERE id = \(entryID)
                        """)
                    try await connection.run("UPDATE messages SET status = 'queued' WHERE id = \(messageID)")
                }
            }
            return ((), events)
        })
    }

    /// Whether the reply was decided under the consent its contact still has: no consent
    /// change after the text it answers, other than the one that text made (as the SQLite
    /// store's `replyDecidedUnderCurrentConsent`).
    static func replyDecidedUnderCurrentConsent(_ connection: PostgresConnection, replyID messageID: Int64) async throws -> Bool {
        try await connection.row(
            """
            SELECT NOT EXISTS (
                SELECT 1 FROM consent_events AS events
                WHERE events.contact_id = conversations.contact_id AND events.created_at >= inbound.created_at
                    AND events.message_id IS DISTINCT FROM inbound.provider_message_id)
            FROM messages AS reply
            JOIN messages AS inbound ON inbound.id = reply.in_reply_to
            JOIN conversations ON conversations.id = reply.conversation_id
            WHERE reply.id = \(messageID) AND reply.kind = 'reply'
            """)?.get(0) ?? false
    }
}
