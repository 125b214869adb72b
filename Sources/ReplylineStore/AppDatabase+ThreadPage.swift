import Foundation
import GRDB
import GRDBSQLite

/// A page of one thread read straight off SQLite, for the inbox's biggest answer: each
/// message's columns are handed over as the bytes SQLite holds, valid until the next row,
/// so a page can be written as JSON without a String, a Date or a record per column.
/// Building `StoredMessage`s and copying them into the answer was most of a 200-message
/// page's time.
public struct ThreadPageRows: ~Copyable {
    /// The columns of a row, in the order the page query selects them.
    public enum Column: Int32 {
        case id, direction, kind, body, media, segments, encoding, status, errorCode, errorMessage, providerMessageID
        case appointmentID, inReplyTo, createdAt
        /// When the outbox will send it, for a message it holds pending past now (see `MessageHold`).
        case scheduledFor, heldReason
    }

    /// True when older messages exist beyond this page.
    public let hasOlder: Bool
    /// Stepped here through SQLite's C API (see `RawStatement`), reset when done.
    let statement: RawStatement
    let history: [StatusEvent]
    var nextEvent = 0
    /// The status history of the current row, oldest first.
    public private(set) var currentHistory: ArraySlice<StatusEvent> = []

    /// Moves to the next message, oldest first; false after the last.
    public mutating func next() throws -> Bool {
        guard try statement.step() else { return false }
        let id = integer(.id)!
        while nextEvent < history.count, history[nextEvent].messageId < id { nextEvent += 1 }
        let start = nextEvent
        while nextEvent < history.count, history[nextEvent].messageId == id { nextEvent += 1 }
        currentHistory = history[start..<nextEvent]
        return true
    }

    public func integer(_ column: Column) -> Int64? {
        statement.isNull(column.rawValue) ? nil : statement.integer(column.rawValue)
    }

    /// The column's text as UTF-8, nil when NULL. Valid only until `next()`.
    public func text(_ column: Column) -> UnsafeBufferPointer<UInt8>? { statement.bytes(column.rawValue) }

    /// The column as a Date (see `StoredDate.decode`); nil when NULL.
    public func date(_ column: Column) throws -> Date? { try statement.date(column.rawValue) }
}

extension AppDatabase {
    /// The newest `limit` messages of a thread older than `before` (a message id), oldest
    /// first, handed to `render` inside one read transaction, each with its hold at `now`
    /// if the outbox holds it. Nil when there is no thread.
    public func threadPage<Page: Sendable>(
        businessID: String, phone: String, limit: Int, before: Int64?, now: Date,
        render: @escaping @Sendable (inout ThreadPageRows) throws -> Page
    ) async throws -> Page? {
        try await read { db in
            guard let conversationID = try Self.conversationID(db, businessID: businessID, phone: phone) else { return nil }
            let before = before ?? Int64.max
            // The message just past the page, if any, bounds it: the page is then one range
            // of the (conversation, id) index read in order, and says whether more remain.
            let boundary = try Int64.fetchOne(
                db.cachedStatement(
                    sql: "SELECT id FROM messages WHERE conversation_id = ? AND id < ? ORDER BY id DESC LIMIT 1 OFFSET ?"),
                arguments: [conversationID, before, limit])
            let after = boundary ?? 0
            let history = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(StatusEvent.columns)
                        FROM message_status_events JOIN messages ON messages.id = message_status_events.message_id
                        WHERE messages.conversation_id = ? AND message_id > ? AND message_id < ?
                        ORDER BY message_id, message_status_events.id
                        """), arguments: [conversationID, after, before]
            ).map(StatusEvent.init(positional:))
            // Each message's pending outbox entry, if due later than now, through the
            // outbox's unique message_id: one lookup a message (see `MessageHold`).
            let statement = try RawStatement(
                db,
                """
                SELECT messages.id, direction, kind, body, media, segments, encoding, status, error_code, error_message,
                    provider_message_id, appointment_id, in_reply_to, created_at, outbox.due_at, outbox.last_error
                FROM messages LEFT JOIN outbox ON \(Self.heldEntry)
                WHERE conversation_id = ? AND messages.id > ? AND messages.id < ? ORDER BY messages.id
                """)
            statement.bind(.text(StoredDate.text(now)), .integer(conversationID), .integer(after), .integer(before))
            var rows = ThreadPageRows(hasOlder: boundary != nil, statement: statement, history: history)
            return try render(&rows)
        }
    }
}
