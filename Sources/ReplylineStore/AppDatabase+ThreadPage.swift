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
            // A message's hold is looked up only while its status says it waits to be sent
            // (`queued`, or `scheduled` for a reminder: the only statuses of a message whose
            // outbox entry is pending). Most of a thread is received or sent, and a LEFT JOIN
            // sought the outbox for every row: the sqlite3 shell, a 400-message thread of a
            // 500,000-message file, 3 rounds: 0.9-1.4 ms a page without these columns, 2.0-2.7
            // with the join, 1.1-1.6 guarded. The test against JSONEncoder compares with
            // `holds`, which has no such guard, so a waiting status left out here shows there.
            let statement = try RawStatement(
                db,
                """
                SELECT id, direction, kind, body, media, segments, encoding, status, error_code, error_message, provider_message_id,
                    appointment_id, in_reply_to, created_at,
                    CASE WHEN status = 'queued' OR status = 'scheduled' THEN (SELECT due_at FROM outbox WHERE \(Self.heldEntry)) END,
                    CASE WHEN status = 'queued' OR status = 'scheduled' THEN (SELECT last_error FROM outbox WHERE \(Self.heldEntry)) END
                FROM messages WHERE conversation_id = ? AND id > ? AND id < ? ORDER BY id
                """)
            let now = StoredDate.text(now)
            statement.bind(.text(now), .text(now), .integer(conversationID), .integer(after), .integer(before))
            var rows = ThreadPageRows(hasOlder: boundary != nil, statement: statement, history: history)
            return try render(&rows)
        }
    }
}
