import Foundation
import GRDB
import ReplylineCore

/// Column names are the snake_case of the property names.
protocol SnakeCaseRecord: Codable, FetchableRecord, MutablePersistableRecord {}

extension SnakeCaseRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

/// A person who texts a business; one per (business, phone).
public struct StoredContact: SnakeCaseRecord, Sendable, Hashable {
    public static let databaseTableName = "contacts"
    public var id: Int64?
    public var businessId: String
    public var phone: String
    public var name: String?
    public var consent: ConsentState
    public var numberInvalid: Bool = false
    public var createdAt: Date

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The inbox state of one contact's thread with one business.
public struct StoredConversation: SnakeCaseRecord, Sendable, Hashable {
    public static let databaseTableName = "conversations"
    public var id: Int64?
    public var businessId: String
    public var contactId: Int64
    public var unreadCount: Int
    public var needsReply: Bool
    public var staffFlag: String?
    public var lastMessageAt: Date
    public var lastMessagePreview: String
    public var lastUnrecognizedReplyAt: Date?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

public enum MessageDirection: String, Codable, Sendable, Hashable {
    case inbound
    case outbound
}

/// One message of a thread, either way.
public struct StoredMessage: SnakeCaseRecord, Sendable, Hashable {
    public static let databaseTableName = "messages"
    public var id: Int64?
    public var conversationId: Int64
    public var direction: MessageDirection
    /// `inbound`, `reply` (in the webhook response), `confirmation_request`, `reminder`, `manual`.
    public var kind: String
    public var provider: String
    public var providerMessageId: String?
    public var fromNumber: String
    public var toNumber: String
    public var body: String
    /// JSON array of `{"url", "content_type"}`.
    public var media: String
    public var segments: Int
    public var encoding: SMSEncoding
    public var status: String
    public var errorCode: String?
    public var errorMessage: String?
    public var intent: String?
    /// JSON array of `[name, value]` pairs, exactly as the provider sent them (inbound only).
    public var parameters: String?
    /// The exact response body given to the provider, replayed on a retry.
    public var webhookReply: String?
    public var inReplyTo: Int64?
    public var appointmentId: String?
    public var createdAt: Date
    public var sentAt: Date?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Confirmation requests, reminders and follow-ups: sent by the system, not by a person.
    public var isAutomated: Bool { ["confirmation_request", "reminder", "post_call"].contains(kind) }

    public var mediaItems: [InboundMessage.Media] { Self.decodeMedia(media) }

    /// The media stored as `json` (see `encodeMedia`).
    public static func decodeMedia(_ json: String) -> [InboundMessage.Media] {
        guard json != "[]" else { return [] }
        return (try? JSONDecoder().decode([MediaJSON].self, from: Data(json.utf8)))?.map {
            InboundMessage.Media(url: $0.url, contentType: $0.content_type)
        } ?? []
    }

    struct MediaJSON: Codable {
        var url: String
        var content_type: String?
    }

    static func encodeMedia(_ media: [InboundMessage.Media]) -> String {
        guard !media.isEmpty else { return "[]" }
        var json: [UInt8] = [UInt8(ascii: "[")]
        for (index, item) in media.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json += Array(#"{"url":"#.utf8)
            JSONString.append(item.url, to: &json)
            if let type = item.contentType {
                json += Array(#","content_type":"#.utf8)
                JSONString.append(type, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        json.append(UInt8(ascii: "]"))
        return String(decoding: json, as: UTF8.self)
    }

    /// `[["name","value"],...]`, written by hand: JSONEncoder was a sixth of the inbound
    /// path's time for what is a loop of string escapes.
    static func encodeParameters(_ parameters: [(name: String, value: String)]) -> String {
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(parameters.reduce(2) { $0 + $1.name.utf8.count + $1.value.utf8.count + 8 })
        for (index, pair) in parameters.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.append(UInt8(ascii: "["))
            JSONString.append(pair.name, to: &json)
            json.append(UInt8(ascii: ","))
            JSONString.append(pair.value, to: &json)
            json.append(UInt8(ascii: "]"))
        }
        json.append(UInt8(ascii: "]"))
        return String(decoding: json, as: UTF8.self)
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
        let encoding: String = try row.decode(atIndex: 11)
        guard let direction = MessageDirection(rawValue: direction), let encoding = SMSEncoding(rawValue: encoding) else {
            throw StoredValueError("message \(row[0] as Int64? ?? 0) has direction `\(direction)` and encoding `\(encoding)`")
        }
        self.init(
            id: try row.decode(atIndex: 0), conversationId: try row.decode(atIndex: 1), direction: direction,
            kind: try row.decode(atIndex: 3), provider: try row.decode(atIndex: 4), providerMessageId: try row.decode(atIndex: 5),
            fromNumber: try row.decode(atIndex: 6), toNumber: try row.decode(atIndex: 7), body: try row.decode(atIndex: 8),
            media: try row.decode(atIndex: 9), segments: try row.decode(atIndex: 10), encoding: encoding,
            status: try row.decode(atIndex: 12), errorCode: try row.decode(atIndex: 13), errorMessage: try row.decode(atIndex: 14),
            intent: try row.decode(atIndex: 15), parameters: nil, webhookReply: nil, inReplyTo: try row.decode(atIndex: 16),
            appointmentId: try row.decode(atIndex: 17), createdAt: try row.storedDate(atIndex: 18),
            sentAt: try row.optionalStoredDate(atIndex: 19))
    }

    /// Read by column name: the Codable path with snake_case conversion was most of the
    /// time of a 200-message thread page.
    public init(row: Row) throws {
        id = row["id"]
        conversationId = row["conversation_id"]
        direction = row["direction"]
        kind = row["kind"]
        provider = row["provider"]
        providerMessageId = row["provider_message_id"]
        fromNumber = row["from_number"]
        toNumber = row["to_number"]
        body = row["body"]
        media = row["media"]
        segments = row["segments"]
        encoding = row["encoding"]
        status = row["status"]
        errorCode = row["error_code"]
        errorMessage = row["error_message"]
        intent = row["intent"]
        parameters = row["parameters"]
        webhookReply = row["webhook_reply"]
        inReplyTo = row["in_reply_to"]
        appointmentId = row["appointment_id"]
        createdAt = row["created_at"]
        sentAt = row["sent_at"]
    }
}

public struct StoredAppointment: SnakeCaseRecord, Sendable, Hashable {
    public static let databaseTableName = "appointments"
    public var id: String
    public var businessId: String
    public var contactId: Int64
    public var customerName: String?
    public var service: String
    public var startsAt: Date
    public var amountCents: Int?
    public var state: AppointmentState
    public var createdAt: Date
    public var updatedAt: Date

    var engineValue: Appointment {
        Appointment(id: id, customerName: customerName, service: service, startsAt: startsAt, amountCents: amountCents, state: state)
    }
}

/// A row of the append-only consent ledger (the schema refuses updates and deletes).
public struct StoredConsentEvent: SnakeCaseRecord, Sendable, Hashable {
    public static let databaseTableName = "consent_events"
    public var id: Int64?
    public var businessId: String
    public var contactId: Int64
    public var phone: String
    public var fromState: ConsentState
    public var toState: ConsentState
    public var source: ConsentSource
    public var messageId: String?
    public var createdAt: Date

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A message committed for sending; the outbox worker delivers it.
public struct OutboxEntry: SnakeCaseRecord, Sendable, Hashable {
    public static let databaseTableName = "outbox"
    public var id: Int64?
    public var messageId: Int64
    public var businessId: String
    public var dueAt: Date
    public var attempts: Int
    public var lastError: String?
    public var state: String
    /// For a confirmation request or reminder: the appointment's start time its text
    /// names, so a message about an older time is skipped at send time.
    public var appointmentStartsAt: Date? = nil

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension ConsentState: DatabaseValueConvertible {}
extension ConsentSource: DatabaseValueConvertible {}
extension AppointmentState: DatabaseValueConvertible {}
extension SMSEncoding: DatabaseValueConvertible {}
extension MessageDirection: DatabaseValueConvertible {}

/// A stored value the schema should have made impossible; the request fails, not the process.
public struct StoredValueError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension Row {
    /// A date column, read by `StoredDate` when it has GRDB's stored form, else by GRDB.
    func optionalStoredDate(atIndex index: Int) throws -> Date? { try StoredDate.decode(self[index]) }

    func storedDate(atIndex index: Int) throws -> Date {
        guard let date = try optionalStoredDate(atIndex: index) else { throw StoredValueError("a required date is missing") }
        return date
    }
}
