import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

// Each record read from the columns its `columns` lists, by position, starting at `offset`.

/// The columns of a row from `offset` on: one query can read several records side by side.
struct Columns {
    let row: PostgresRandomAccessRow
    let offset: Int

    func get<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T { try row.get(offset + index) }

    func named<E: RawRepresentable>(_ index: Int, as type: E.Type = E.self) throws -> E where E.RawValue == String {
        try row.named(offset + index)
    }
}

extension StoredMessage {
    /// The columns `init(postgres:)` reads, of the table named `table`. Without `full`,
    /// the stored webhook parameters and reply (most of a row's bytes, never shown in a
    /// thread) read as NULL.
    static func columns(_ table: String = "messages", full: Bool = true) -> String {
        let names = [
            "id", "conversation_id", "direction", "kind", "provider", "provider_message_id", "from_number", "to_number", "body", "media",
            "segments", "encoding", "status", "error_code", "error_message", "intent", "parameters", "webhook_reply", "in_reply_to",
            "appointment_id", "created_at", "sent_at",
        ]
        return names.map { name in
            !full && (name == "parameters" || name == "webhook_reply") ? "NULL::text" : "\(table).\(name)"
        }.joined(separator: ", ")
    }

    /// How many columns `columns` lists: what a query's own columns after them start at.
    static let columnCount = 22

    init(postgres row: PostgresRandomAccessRow, from offset: Int = 0) throws {
        let row = Columns(row: row, offset: offset)
        self.init(
            id: MessageID(try row.get(0)), conversationId: ConversationID(try row.get(1)), direction: try row.named(2),
            kind: try row.named(3), provider: try row.get(4), providerMessageId: try row.get(5), fromNumber: try row.get(6),
            toNumber: try row.get(7), body: try row.get(8), media: StoredMessage.decodeMedia(try row.get(9)), segments: try row.get(10),
            encoding: try row.named(11), status: try row.named(12), errorCode: try row.get(13), errorMessage: try row.get(14),
            intent: try row.get(15), parameters: try row.get(16), webhookReply: try row.get(17),
            inReplyTo: try row.get(18, as: Int64?.self).map(MessageID.init), appointmentId: try row.get(19), createdAt: try row.get(20),
            sentAt: try row.get(21))
    }
}

extension StoredContact {
    static func columns(_ table: String = "contacts") -> String {
        ["id", "business_id", "phone", "name", "consent", "number_invalid", "created_at"].map { "\(table).\($0)" }.joined(separator: ", ")
    }

    init(postgres row: PostgresRandomAccessRow, from offset: Int = 0) throws {
        let row = Columns(row: row, offset: offset)
        self.init(
            id: ContactID(try row.get(0)), businessId: try row.get(1), phone: try row.get(2), name: try row.get(3),
            consent: try row.named(4), numberInvalid: try row.get(5), createdAt: try row.get(6))
    }
}

extension StoredConversation {
    static func columns(_ table: String = "conversations") -> String {
        [
            "id", "business_id", "contact_id", "unread_count", "needs_reply", "staff_flag", "last_message_at", "last_message_preview",
            "last_unrecognized_reply_at",
        ].map { "\(table).\($0)" }.joined(separator: ", ")
    }

    init(postgres row: PostgresRandomAccessRow, from offset: Int = 0) throws {
        let row = Columns(row: row, offset: offset)
        self.init(
            id: ConversationID(try row.get(0)), businessId: try row.get(1), contactId: ContactID(try row.get(2)),
            unreadCount: try row.get(3), needsReply: try row.get(4), staffFlag: try row.get(5), lastMessageAt: try row.get(6),
            lastMessagePreview: try row.get(7), lastUnrecognizedReplyAt: try row.get(8))
    }
}

extension StoredAppointment {
    static func columns(_ table: String = "appointments") -> String {
        [
            "id", "business_id", "contact_id", "customer_name", "service", "starts_at", "amount_cents", "state", "created_at",
            "updated_at",
        ].map { "\(table).\($0)" }.joined(separator: ", ")
    }

    init(postgres row: PostgresRandomAccessRow, from offset: Int = 0) throws {
        let row = Columns(row: row, offset: offset)
        self.init(
            id: try row.get(0), businessId: try row.get(1), contactId: ContactID(try row.get(2)), customerName: try row.get(3),
            service: try row.get(4), startsAt: try row.get(5), amountCents: try row.get(6), state: try row.named(7),
            createdAt: try row.get(8), updatedAt: try row.get(9))
    }
}

extension StoredConsentEvent {
    static func columns(_ table: String = "consent_events") -> String {
        ["id", "business_id", "contact_id", "phone", "from_state", "to_state", "source", "message_id", "created_at"].map {
            "\(table).\($0)"
        }.joined(separator: ", ")
    }

    init(postgres row: PostgresRandomAccessRow, from offset: Int = 0) throws {
        let row = Columns(row: row, offset: offset)
        self.init(
            id: ConsentEventID(try row.get(0)), businessId: try row.get(1), contactId: ContactID(try row.get(2)), phone: try row.get(3),
            fromState: try row.named(4), toState: try row.named(5), source: try row.named(6), messageId: try row.get(7),
            createdAt: try row.get(8))
    }
}

extension OutboxEntry {
    static func columns(_ table: String = "outbox") -> String {
        ["id", "message_id", "business_id", "due_at", "attempts", "last_error", "state", "appointment_starts_at"].map {
            "\(table).\($0)"
        }.joined(separator: ", ")
    }

    init(postgres row: PostgresRandomAccessRow, from offset: Int = 0) throws {
        let row = Columns(row: row, offset: offset)
        self.init(
            id: OutboxEntryID(try row.get(0)), messageId: MessageID(try row.get(1)), businessId: try row.get(2), dueAt: try row.get(3),
            attempts: try row.get(4), lastError: try row.get(5), state: try row.named(6), appointmentStartsAt: try row.get(7))
    }
}

extension StatusEvent {
    static let columns =
        "message_status_events.message_id, message_status_events.status, message_status_events.error_code, "
        + "message_status_events.error_message, message_status_events.created_at"

    init(postgres row: PostgresRandomAccessRow, from offset: Int = 0) throws {
        let row = Columns(row: row, offset: offset)
        self.init(
            messageId: MessageID(try row.get(0)), status: try row.named(1), errorCode: try row.get(2), errorMessage: try row.get(3),
            createdAt: try row.get(4))
    }
}

extension ConversationSummary {
    static let select = """
        SELECT conversations.id, contacts.phone, contacts.name, contacts.consent, conversations.unread_count,
               conversations.needs_reply, conversations.staff_flag, conversations.last_message_at, conversations.last_message_preview
        FROM conversations JOIN contacts ON contacts.id = conversations.contact_id
        """

    init(postgres row: PostgresRandomAccessRow, from offset: Int = 0) throws {
        let row = Columns(row: row, offset: offset)
        self.init(
            id: ConversationID(try row.get(0)), phone: try row.get(1), name: try row.get(2), consent: try row.named(3),
            unreadCount: try row.get(4), needsReply: try row.get(5), staffFlag: try row.get(6), lastMessageAt: try row.get(7),
            lastMessagePreview: try row.get(8))
    }
}
