import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

extension PostgresStore {
    /// A page of the inbox, newest activity first, by keyset on (activity, id).
    public func conversations(
        businessID: String, filter: ConversationFilter, limit: Int, after cursor: ConversationCursor?
    ) async throws -> [ConversationSummary] {
        var query: PostgresQuery = "\(unescaped: ConversationSummary.select) WHERE conversations.business_id = \(businessID)"
        if filter.unreadOnly { query.sql += " AND conversations.unread_count > 0" }
        if filter.needsReplyOnly { query.sql += " AND conversations.needs_reply" }
        if filter.optedOutOnly { query.sql += " AND contacts.consent = 'opted_out'" }
        if let pattern = filter.likePattern {
            // A rare word scans the business's messages; full-text search is left for when it is needed.
            let (text, phone) = (query.bind(pattern), query.bind(filter.phoneDigitsPattern ?? pattern))
            query.sql += """
                 AND (contacts.name ILIKE \(text) OR contacts.phone LIKE \(phone)
                 OR EXISTS (SELECT 1 FROM messages WHERE messages.conversation_id = conversations.id AND messages.body ILIKE \(text)))
                """
        }
        if let cursor {
            // To the microsecond, as stored: PostgresNIO's own Date encoding can land one below.
            let (at, id) = (query.bind(PostgresTimestamp(cursor.lastMessageAt)), query.bind(cursor.id.rawValue))
            query.sql += " AND (conversations.last_message_at, conversations.id) < (\(at), \(id))"
        }
        let bound = query.bind(limit)
        query.sql += " ORDER BY conversations.last_message_at DESC, conversations.id DESC LIMIT \(bound)"
        return try await read { [query] connection in try await connection.rows(query).map({ try ConversationSummary(postgres: $0) }) }
    }

    public func inboxCounts(businessID: String) async throws -> InboxCounts {
        try await read { connection in
            // Each count reads at most `limit + 1` entries of one partial index (migration v10).
            let limit = InboxCounts.limit + 1
            let unread = try await connection.row(
                """
                SELECT COUNT(*), COALESCE(SUM(unread_count), 0)::bigint FROM (
                    SELECT unread_count FROM conversations WHERE business_id = \(businessID) AND unread_count > 0 LIMIT \(limit)
                ) AS unread
                """)
            let needsReply = try await connection.row(
                """
                SELECT COUNT(*) FROM (SELECT 1 FROM conversations WHERE business_id = \(businessID) AND needs_reply LIMIT \(limit)) AS waiting
                """)
            return InboxCounts(
                unreadConversations: try unread?.get(0, as: Int.self) ?? 0, unreadMessages: try unread?.get(1, as: Int.self) ?? 0,
                needsReply: try needsReply?.get(0, as: Int.self) ?? 0)
        }
    }

    public func conversation(businessID: String, phone: String) async throws -> ConversationSummary? {
        try await read { connection in
            try await connection.row(
                "\(unescaped: ConversationSummary.select) WHERE contacts.business_id = \(businessID) AND contacts.phone = \(phone)"
            ).map({ try ConversationSummary(postgres: $0) })
        }
    }

    static func conversationID(_ connection: PostgresConnection, businessID: String, phone: String) async throws -> Int64? {
        try await connection.row(
            """
            SELECT conversations.id FROM conversations JOIN contacts ON contacts.id = conversations.contact_id
            WHERE contacts.business_id = \(businessID) AND contacts.phone = \(phone)
            """)?.get(0)
    }

    /// The newest `limit` messages older than `before`, oldest first, each with its status
    /// history and its hold at `now`; one snapshot.
    public func threadPage(businessID: String, phone: String, limit: Int, before: MessageID?, now: Date) async throws -> ThreadPage? {
        try await read { connection -> ThreadPage? in
            guard let conversationID = try await Self.conversationID(connection, businessID: businessID, phone: phone) else { return nil }
            let before = before?.rawValue ?? Int64.max
            // One more than a page says whether older messages remain.
            let rows = try await connection.rows(
                """
                SELECT \(unescaped: StoredMessage.columns(full: false)), outbox.due_at, outbox.last_error
                FROM messages LEFT JOIN outbox ON outbox.message_id = messages.id AND outbox.state = 'pending' AND outbox.due_at > \(now)
                WHERE messages.conversation_id = \(conversationID) AND messages.id < \(before)
                ORDER BY messages.id DESC LIMIT \(limit + 1)
                """)
            let page = rows.prefix(limit).reversed()
            guard let first = page.first, let last = page.last else { return ThreadPage(messages: [], hasOlder: false) }
            let history = try await connection.rows(
                """
                SELECT \(unescaped: StatusEvent.columns) FROM message_status_events
                WHERE message_id = ANY(SELECT id FROM messages WHERE conversation_id = \(conversationID)
                    AND id BETWEEN \(try first.get(0, as: Int64.self)) AND \(try last.get(0, as: Int64.self)))
                ORDER BY message_id, id
                """
            ).map({ try StatusEvent(postgres: $0) })
            let byMessage = Dictionary(grouping: history, by: \.messageId)
            let messages = try page.map { row in
                let message = try StoredMessage(postgres: row)
                let hold = try row.get(22, as: Date?.self).map { MessageHold(until: $0, reason: try row.get(23)) }
                return ThreadMessage(message: message, history: byMessage[message.id!] ?? [], hold: hold)
            }
            return ThreadPage(messages: messages, hasOlder: rows.count > limit)
        }
    }

    public func thread(businessID: String, phone: String) async throws -> ConversationThread? {
        try await read { connection -> ConversationThread? in
            guard
                let row = try await connection.row(
                    """
                    SELECT \(unescaped: StoredContact.columns()), \(unescaped: StoredConversation.columns())
                    FROM contacts JOIN conversations ON conversations.contact_id = contacts.id
                    WHERE contacts.business_id = \(businessID) AND contacts.phone = \(phone)
                    """)
            else { return nil }
            let conversation = try StoredConversation(postgres: row, from: 7)
            let messages = try await connection.rows(
                "SELECT \(unescaped: StoredMessage.columns()) FROM messages WHERE conversation_id = \(conversation.id!.rawValue) ORDER BY id"
            ).map({ try StoredMessage(postgres: $0) })
            return ConversationThread(contact: try StoredContact(postgres: row), conversation: conversation, messages: messages)
        }
    }

    public func holds(messageIDs: [MessageID], now: Date) async throws -> [MessageID: MessageHold] {
        guard !messageIDs.isEmpty else { return [:] }
        return try await read { connection in
            var holds: [MessageID: MessageHold] = [:]
            for row in try await connection.rows(
                """
                SELECT message_id, due_at, last_error FROM outbox
                WHERE message_id = ANY(\(messageIDs.map(\.rawValue))) AND state = 'pending' AND due_at > \(now)
                """)
            {
                holds[MessageID(try row.get(0))] = MessageHold(until: try row.get(1), reason: try row.get(2))
            }
            return holds
        }
    }

    public func markRead(businessID: String, phone: String) async throws -> Bool {
        try await write(notifying: { connection in
            let marked = try await !connection.rows(
                """
                UPDATE conversations SET unread_count = 0
                WHERE contact_id = (SELECT id FROM contacts WHERE business_id = \(businessID) AND phone = \(phone)) RETURNING id
                """
            ).isEmpty
            return (marked, marked ? [InboxEvent(businessID: businessID, kind: .read, phone: phone)] : [])
        })
    }

    /// Queues an outbound message after checking consent, under the contact's lock: a STOP
    /// being recorded on another instance is either seen here or comes after this message.
    public func queueOutbound(
        businessID: String, phone: String, kind: MessageKind, body: String, media: [InboundMessage.Media], appointmentID: String?,
        provider: String, fromNumber: String, now: Date
    ) async throws -> StoredMessage {
        try await write(notifying: { connection in
            try await Self.lockContact(connection, businessID: businessID, phone: phone)
            let (contact, conversationID) = try await Self.contact(connection, businessID: businessID, phone: phone, now: now)
            guard contact.consent == .optedIn else {
                let since = try await connection.row(
                    "SELECT MAX(created_at) FROM consent_events WHERE contact_id = \(contact.id!.rawValue) AND to_state = 'opted_out'"
                )?.get(0, as: Date?.self)
                throw SendRefusal.optedOut(since: since ?? nil)
            }
            let message = try await Self.insertOutbound(
                connection, conversationID: conversationID, kind: kind, body: body, media: media, appointmentID: appointmentID,
                provider: provider, fromNumber: fromNumber, to: phone, businessID: businessID, now: now, dueAt: now)
            let answered = kind == .manual
            try await connection.run(
                """
                UPDATE conversations SET needs_reply = needs_reply AND NOT \(answered),
                    staff_flag = CASE WHEN \(answered) THEN NULL ELSE staff_flag END,
                    last_message_at = \(now), last_message_preview = \(String((body.isEmpty ? "[media]" : body).prefix(160)))
                WHERE id = \(conversationID)
                """)
            return (message, [InboxEvent(businessID: businessID, kind: .message, phone: phone)])
        })
    }

    /// A queued outbound message of `kind` to `phone`, inserted with its outbox entry (see
    /// `insert`); the caller has checked consent.
    static func insertOutbound(
        _ connection: PostgresConnection, conversationID: Int64, kind: MessageKind, body: String, media: [InboundMessage.Media],
        appointmentID: String?, provider: String, fromNumber: String, to phone: String, businessID: String, now: Date, dueAt: Date,
        holdNote: String? = nil
    ) async throws -> StoredMessage {
        let count = SegmentCounter.count(body)
        var message = StoredMessage(
            id: nil, conversationId: ConversationID(conversationID), direction: .outbound, kind: kind, provider: provider,
            providerMessageId: nil, fromNumber: fromNumber, toNumber: phone, body: body, media: media, segments: count.segments,
            encoding: count.encoding, status: .queued, appointmentId: appointmentID, createdAt: now)
        message.id = try await insert(connection, message, businessID: businessID, dueAt: dueAt, holdNote: holdNote)
        return message
    }

    /// Inserts an outbound message and its outbox entry, due at `dueAt` (waiting for the
    /// reason `holdNote` says, if later than now); returns its id.
    static func insert(
        _ connection: PostgresConnection, _ message: StoredMessage, businessID: String, dueAt: Date, appointmentStartsAt: Date? = nil,
        holdNote: String? = nil
    ) async throws -> MessageID {
        guard
            let row = try await connection.row(
                """
                WITH message AS (
                    INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, media, segments,
                        encoding, status, appointment_id, created_at)
                    VALUES (\(message.conversationId.rawValue), 'outbound', \(message.kind.rawValue), \(message.provider),
                        \(message.fromNumber), \(message.toNumber), \(message.body), \(StoredMessage.encodeMedia(message.media)),
                        \(message.segments), \(message.encoding.rawValue), \(message.status.rawValue), \(message.appointmentId),
                        \(message.createdAt))
                    RETURNING id)
                INSERT INTO outbox (message_id, business_id, due_at, attempts, state, appointment_starts_at, last_error)
                SELECT id, \(businessID), \(dueAt), 0, 'pending', \(appointmentStartsAt), \(holdNote) FROM message RETURNING message_id
                """)
        else { throw StoredValueError("an outbound message to \(message.toNumber) was not stored") }
        return MessageID(try row.get(0))
    }

    public func consentEvents(businessID: String, phone: String) async throws -> [StoredConsentEvent] {
        try await read { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: StoredConsentEvent.columns()) FROM consent_events
                WHERE business_id = \(businessID) AND phone = \(phone) ORDER BY id
                """
            ).map({ try StoredConsentEvent(postgres: $0) })
        }
    }

    public func consentLedger(businessID: String?) async throws -> [StoredConsentEvent] {
        try await read { connection in
            let select = "SELECT \(StoredConsentEvent.columns()) FROM consent_events"
            guard let businessID else {
                return try await connection.rows("\(unescaped: select) ORDER BY id").map({ try StoredConsentEvent(postgres: $0) })
            }
            return try await connection.rows("\(unescaped: select) WHERE business_id = \(businessID) ORDER BY id").map({
                try StoredConsentEvent(postgres: $0)
            })
        }
    }
}

extension PostgresQuery {
    /// Binds `value` as the next parameter and returns its placeholder, for queries whose
    /// terms depend on the request.
    mutating func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
        binds.append(value, context: .default)
        return "$\(binds.count)"
    }
}
