import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

// The store's plain values as GRDB records: the tables they live in, snake_case columns, and
// the typed ids and enumerations as database values.

/// Column names are the snake_case of the property names.
protocol SnakeCaseRecord: Codable, FetchableRecord, MutablePersistableRecord {}

extension SnakeCaseRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

extension Identifier: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { rawValue.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Self? { Int64.fromDatabaseValue(dbValue).map(Self.init) }
}

extension StoredContact: SnakeCaseRecord {
    public static let databaseTableName = "contacts"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = ContactID(inserted.rowID) }
}

extension StoredConversation: SnakeCaseRecord {
    public static let databaseTableName = "conversations"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = ConversationID(inserted.rowID) }
}

extension StoredAppointment: SnakeCaseRecord {
    public static let databaseTableName = "appointments"
}

extension StoredConsentEvent: SnakeCaseRecord {
    public static let databaseTableName = "consent_events"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = ConsentEventID(inserted.rowID) }
}

extension OutboxEntry: SnakeCaseRecord {
    public static let databaseTableName = "outbox"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = OutboxEntryID(inserted.rowID) }
}

extension StoredMessage: SnakeCaseRecord {
    public static let databaseTableName = "messages"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = MessageID(inserted.rowID) }

    /// The media as the `media` column's JSON, not GRDB's encoding of the array.
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["conversation_id"] = conversationId
        container["direction"] = direction
        container["kind"] = kind
        container["provider"] = provider
        container["provider_message_id"] = providerMessageId
        container["from_number"] = fromNumber
        container["to_number"] = toNumber
        container["body"] = body
        container["media"] = Self.encodeMedia(media)
        container["segments"] = segments
        container["encoding"] = encoding
        container["status"] = status
        container["error_code"] = errorCode
        container["error_message"] = errorMessage
        container["intent"] = intent
        container["parameters"] = parameters
        container["webhook_reply"] = webhookReply
        container["in_reply_to"] = inReplyTo
        container["appointment_id"] = appointmentId
        container["created_at"] = createdAt
        container["sent_at"] = sentAt
    }
}

extension StoredMessage {
    /// The columns a thread page reads, in the order `init(threadRow:)` expects them.
    static let threadColumns = """
        id, conversation_id, direction, kind, provider, provider_message_id, from_number, to_number, body, media, segments, encoding,
        status, error_code, error_message, intent, in_reply_to, appointment_id, created_at, sent_at
        """

    /// A row of `threadColumns`, read by position; without the webhook parameters and reply.
    /// Enumerations are read as text and dates through `StoredDate`: GRDB's generic
    /// RawRepresentable and Calendar paths were most of a thread page's row decoding.
    init(threadRow row: Row) throws {
        let direction: String = try row.decode(atIndex: 2)
        let kind: String = try row.decode(atIndex: 3)
        let encoding: String = try row.decode(atIndex: 11)
        let status: String = try row.decode(atIndex: 12)
        guard let direction = MessageDirection(rawValue: direction), let kind = MessageKind(rawValue: kind),
            let encoding = SMSEncoding(rawValue: encoding), let status = MessageStatus(rawValue: status)
        else {
            throw StoredValueError(
                "message \(row[0] as Int64? ?? 0) has direction `\(direction)`, kind `\(kind)`, encoding `\(encoding)` and status `\(status)`"
            )
        }
        self.init(
            id: try row.decode(atIndex: 0), conversationId: try row.decode(atIndex: 1), direction: direction,
            kind: kind, provider: try row.decode(atIndex: 4), providerMessageId: try row.decode(atIndex: 5),
            fromNumber: try row.decode(atIndex: 6), toNumber: try row.decode(atIndex: 7), body: try row.decode(atIndex: 8),
            media: Self.decodeMedia(try row.decode(atIndex: 9)), segments: try row.decode(atIndex: 10), encoding: encoding,
            status: status, errorCode: try row.decode(atIndex: 13), errorMessage: try row.decode(atIndex: 14),
            intent: try row.decode(atIndex: 15), parameters: nil, webhookReply: nil, inReplyTo: try row.decode(atIndex: 16),
            appointmentId: try row.decode(atIndex: 17), createdAt: try row.storedDate(atIndex: 18),
            sentAt: try row.optionalStoredDate(atIndex: 19))
    }

    /// Read by column name: the Codable path with snake_case conversion was most of the
    /// time of a 200-message thread page.
    public init(row: Row) throws {
        self.init(
            id: row["id"], conversationId: row["conversation_id"], direction: row["direction"], kind: row["kind"],
            provider: row["provider"], providerMessageId: row["provider_message_id"], fromNumber: row["from_number"],
            toNumber: row["to_number"], body: row["body"], media: Self.decodeMedia(row["media"]), segments: row["segments"],
            encoding: row["encoding"], status: row["status"], errorCode: row["error_code"], errorMessage: row["error_message"],
            intent: row["intent"], parameters: row["parameters"], webhookReply: row["webhook_reply"], inReplyTo: row["in_reply_to"],
            appointmentId: row["appointment_id"], createdAt: row["created_at"], sentAt: row["sent_at"])
    }

}

extension ConsentState: DatabaseValueConvertible {}
extension ConsentSource: DatabaseValueConvertible {}
extension AppointmentState: DatabaseValueConvertible {}
extension SMSEncoding: DatabaseValueConvertible {}
extension MessageDirection: DatabaseValueConvertible {}
extension MessageKind: DatabaseValueConvertible {}
extension OutboxState: DatabaseValueConvertible {}
extension MessageStatus: DatabaseValueConvertible {}

extension Row {
    /// A date column, read by `StoredDate` when it has GRDB's stored form, else by GRDB.
    func optionalStoredDate(atIndex index: Int) throws -> Date? { try StoredDate.decode(self[index]) }

    func storedDate(atIndex index: Int) throws -> Date {
        guard let date = try optionalStoredDate(atIndex: index) else { throw StoredValueError("a required date is missing") }
        return date
    }
}
