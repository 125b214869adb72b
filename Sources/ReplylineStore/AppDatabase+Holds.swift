import Foundation
import GRDB

/// A message the outbox holds: pending with a due time later than now. Reminders wait for
/// their time; a message the worker deferred (quiet hours, cadence, an earlier message to
/// the same contact, a retry) waits with the reason it noted. Staff see both in the thread.
public struct MessageHold: Sendable, Equatable {
    /// When the outbox will try it next.
    public var until: Date
    /// The outbox's note on its last try; nil for a message not yet tried.
    public var reason: String?

    public init(until: Date, reason: String?) {
        self.until = until
        self.reason = reason
    }
}

extension AppDatabase {
    /// What makes an outbox row the held entry of the message in scope as `messages`, with
    /// `now` its one argument. Only `pending` is relied on: other outbox states never wait.
    static let heldEntry = "outbox.message_id = messages.id AND outbox.state = 'pending' AND outbox.due_at > ?"

    /// The holds of these messages at `now`, by message id; messages not held are absent.
    public func holds(messageIDs: [Int64], now: Date) async throws -> [Int64: MessageHold] {
        guard !messageIDs.isEmpty else { return [:] }
        return try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT messages.id, outbox.due_at, outbox.last_error FROM messages JOIN outbox ON \(Self.heldEntry)
                    WHERE messages.id IN (\(Array(repeating: "?", count: messageIDs.count).joined(separator: ", ")))
                    """, arguments: StatementArguments([now]) + StatementArguments(messageIDs))
            var holds: [Int64: MessageHold] = [:]
            for row in rows { holds[row[0]] = MessageHold(until: try row.storedDate(atIndex: 1), reason: row[2]) }
            return holds
        }
    }
}
