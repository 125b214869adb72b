import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension StatusEvent {
    /// The columns `init(positional:)` reads, from `message_status_events`.
    static let columns = """
        message_id, message_status_events.status, message_status_events.error_code, message_status_events.error_message,
            message_status_events.created_at
        """

    init(positional row: Row) throws {
        let status: String = try row.decode(atIndex: 1)
        guard let status = MessageStatus(rawValue: status) else {
            throw StoredValueError("a status event of message \(row[0] as Int64? ?? 0) has status `\(status)`")
        }
        self.init(
            messageId: try row.decode(atIndex: 0), status: status, errorCode: try row.decode(atIndex: 2),
            errorMessage: try row.decode(atIndex: 3), createdAt: try row.storedDate(atIndex: 4))
    }
}

extension ConversationSummary: FetchableRecord {
    /// A row of `select`, read by position.
    public init(row: Row) throws {
        self.init(
            id: row[0], phone: row[1], name: row[2], consent: row[3], unreadCount: row[4], needsReply: row[5], staffFlag: row[6],
            lastMessageAt: row[7], lastMessagePreview: row[8])
    }

    static let select = """
        SELECT conversations.id, contacts.phone, contacts.name, contacts.consent, conversations.unread_count,
               conversations.needs_reply, conversations.staff_flag, conversations.last_message_at, conversations.last_message_preview
        FROM conversations JOIN contacts ON contacts.id = conversations.contact_id
        """
}

extension AppDatabase {
    /// A page of `businessID`'s inbox, newest activity first. Keyset pagination on
    /// (activity, id): a page never repeats or skips a conversation whose activity did not
    /// change while the client paged.
    public func conversations(
        businessID: String, filter: ConversationFilter, limit: Int, after cursor: ConversationCursor?
    ) async throws -> [ConversationSummary] {
        try await read { db in
            var sql = ConversationSummary.select + " WHERE conversations.business_id = ?"
            var arguments: StatementArguments = [businessID]
            if filter.unreadOnly { sql += " AND conversations.unread_count > 0" }
            if filter.needsReplyOnly { sql += " AND conversations.needs_reply" }
            if filter.optedOutOnly { sql += " AND contacts.consent = 'opted_out'" }
            if let pattern = filter.likePattern {
                // LIKE is case-insensitive for ASCII in SQLite. A rare word scans the
                // business's messages; full-text search is left for when it is needed.
                sql += """
                     AND (contacts.name LIKE ? ESCAPE '\\' OR contacts.phone LIKE ? ESCAPE '\\'
                     OR EXISTS (SELECT 1 FROM messages WHERE messages.conversation_id = conversations.id AND messages.body LIKE ? ESCAPE '\\'))
                    """
                arguments += [pattern, filter.phoneDigitsPattern ?? pattern, pattern]
            }
            if let cursor {
                // A row-value comparison lets SQLite seek the (business, activity, id) index
                // instead of scanning what an OR of two conditions would.
                sql += " AND (conversations.last_message_at, conversations.id) < (?, ?)"
                arguments += [cursor.lastMessageAt, cursor.id]
            }
            sql += " ORDER BY conversations.last_message_at DESC, conversations.id DESC LIMIT ?"
            arguments += [limit]
            // A few dozen shapes of this query exist, so each is prepared once and cached.
            return try ConversationSummary.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
        }
    }

    public func inboxCounts(businessID: String) async throws -> InboxCounts {
        try await read { db in
            // Each count reads at most `limit + 1` entries of one partial index (migration v10).
            let unread = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT COUNT(*), COALESCE(SUM(unread_count), 0) FROM (
                            SELECT unread_count FROM conversations WHERE business_id = ? AND unread_count > 0 LIMIT ?)
                        """), arguments: [businessID, InboxCounts.limit + 1])
            let needsReply = try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT COUNT(*) FROM (SELECT 1 FROM conversations WHERE business_id = ? AND needs_reply LIMIT ?)"),
                arguments: [businessID, InboxCounts.limit + 1])
            return InboxCounts(
                unreadConversations: unread?[0] ?? 0, unreadMessages: unread?[1] ?? 0, needsReply: needsReply ?? 0)
        }
    }

    public func conversation(businessID: String, phone: String) async throws -> ConversationSummary? {
        try await read { db in
            try ConversationSummary.fetchOne(
                db, sql: ConversationSummary.select + " WHERE contacts.business_id = ? AND contacts.phone = ?",
                arguments: [businessID, phone])
        }
    }

    /// The upcoming and recent appointments of `phone` with `businessID`, soonest first.
    public func appointments(businessID: String, phone: String) async throws -> [StoredAppointment] {
        try await read { db in
            try StoredAppointment.fetchAll(
                db,
                sql: """
                    SELECT appointments.* FROM appointments JOIN contacts ON contacts.id = appointments.contact_id
                    WHERE contacts.business_id = ? AND contacts.phone = ? ORDER BY appointments.starts_at
                    """, arguments: [businessID, phone])
        }
    }

    /// A page of one thread: the newest `limit` messages older than `before` (a message id),
    /// returned oldest first, each with its status history. Nil when there is no thread.
    public func messages(
        businessID: String, phone: String, limit: Int, before: MessageID?
    ) async throws -> [(message: StoredMessage, history: [StatusEvent])]? {
        try await read { db in
            guard let conversationID = try Self.conversationID(db, businessID: businessID, phone: phone) else { return nil }
            // Cached statements, and rows read by position straight off the statement (a
            // cursor, no copies): a 200-message page spent as much time preparing SQL,
            // copying rows and finding columns by name as reading them.
            var page: [StoredMessage] = []
            page.reserveCapacity(limit)
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    // Not the stored webhook parameters and reply: a page never shows them,
                    // and they are most of a row's bytes.
                    sql: """
                        SELECT \(StoredMessage.threadColumns) FROM messages WHERE conversation_id = ? AND id < ? ORDER BY id DESC LIMIT ?
                        """), arguments: [conversationID, before?.rawValue ?? Int64.max, limit])
            while let row = try rows.next() { page.append(try StoredMessage(threadRow: row)) }
            page.reverse()
            guard let first = page.first?.id, let last = page.last?.id else { return [] }
            let events = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(StatusEvent.columns)
                        FROM message_status_events JOIN messages ON messages.id = message_status_events.message_id
                        WHERE messages.conversation_id = ? AND message_id BETWEEN ? AND ? ORDER BY message_status_events.id
                        """), arguments: [conversationID, first, last]
            ).map(StatusEvent.init(positional:))
            let history = Dictionary(grouping: events, by: \.messageId)
            return page.map { ($0, history[$0.id!] ?? []) }
        }
    }

    /// The id of the conversation with `phone`, if there is one.
    static func conversationID(_ db: Database, businessID: String, phone: String) throws -> ConversationID? {
        try ConversationID.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT conversations.id FROM conversations JOIN contacts ON contacts.id = conversations.contact_id
                    WHERE contacts.business_id = ? AND contacts.phone = ?
                    """), arguments: [businessID, phone])
    }

    /// Marks the thread read (unread count 0). False when there is no such thread.
    public func markRead(businessID: String, phone: String) async throws -> Bool {
        try await write(publishing: { db in
            try db.execute(
                sql: """
                    UPDATE conversations SET unread_count = 0
                    WHERE contact_id = (SELECT id FROM contacts WHERE business_id = ? AND phone = ?)
                    """, arguments: [businessID, phone])
            let marked = db.changesCount == 1
            return (marked, marked ? [InboxEvent(businessID: businessID, kind: .read, phone: phone)] : [])
        })
    }

    /// Queues an outbound message of `kind` (`manual`, `post_call`) after checking consent.
    /// A manual message answers the conversation, so it no longer needs a reply.
    public func queueOutbound(
        businessID: String, phone: String, kind: MessageKind, body: String, media: [InboundMessage.Media], appointmentID: String?,
        provider: String, fromNumber: String, now: Date
    ) async throws -> StoredMessage {
        try await write(publishing: { db in
            let contact = try Self.contact(db, businessID: businessID, phone: phone, now: now)
            guard contact.consent == .optedIn else {
                let since = try Date.fetchOne(
                    db, sql: "SELECT MAX(created_at) FROM consent_events WHERE contact_id = ? AND to_state = 'opted_out'",
                    arguments: [contact.id!])
                throw SendRefusal.optedOut(since: since)
            }
            var conversation = try Self.conversation(db, contact: contact, now: now)
            let message = try Self.insertOutbound(
                db, conversation: &conversation, kind: kind, body: body, media: media, appointmentID: appointmentID, provider: provider,
                fromNumber: fromNumber, to: phone, businessID: businessID, now: now, dueAt: now)
            try conversation.update(db)
            return (message, [InboxEvent(businessID: businessID, kind: .message, phone: phone)])
        })
    }

    /// Inserts an outbound message and its outbox entry, due at `dueAt` (waiting for the
    /// reason `holdNote` says, if later than now), and notes it in
    /// `conversation` (which the caller saves); the caller has checked consent.
    static func insertOutbound(
        _ db: Database, conversation: inout StoredConversation, kind: MessageKind, body: String, media: [InboundMessage.Media],
        appointmentID: String?, provider: String, fromNumber: String, to phone: String, businessID: String, now: Date, dueAt: Date,
        holdNote: String? = nil
    ) throws -> StoredMessage {
        let count = SegmentCounter.count(body)
        var message = StoredMessage(
            id: nil, conversationId: conversation.id!, direction: .outbound, kind: kind, provider: provider, providerMessageId: nil,
            fromNumber: fromNumber, toNumber: phone, body: body, media: media, segments: count.segments, encoding: count.encoding,
            status: .queued, appointmentId: appointmentID, createdAt: now)
        try message.insert(db)
        var entry = OutboxEntry(
            messageId: message.id!, businessId: businessID, dueAt: dueAt, attempts: 0, lastError: holdNote, state: .pending)
        try entry.insert(db)
        if kind == .manual {
            conversation.needsReply = false
            conversation.staffFlag = nil
        }
        conversation.lastMessageAt = now
        conversation.lastMessagePreview = String((body.isEmpty ? "[media]" : body).prefix(160))
        return message
    }

    /// Every consent change of `businessID` (all businesses when nil), oldest first.
    public func consentLedger(businessID: String?) async throws -> [StoredConsentEvent] {
        try await read { db in
            if let businessID {
                return try StoredConsentEvent.filter(sql: "business_id = ?", arguments: [businessID]).order(sql: "id").fetchAll(db)
            }
            return try StoredConsentEvent.order(sql: "id").fetchAll(db)
        }
    }
}
