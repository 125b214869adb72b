import Foundation
import GRDB
import ReplylineStore

extension AppDatabase {
    /// What makes an outbox row the held entry of the message in scope as `messages`, with
    /// `now` its one argument. Only `pending` is relied on: other outbox states never wait.
    static let heldEntry = "outbox.message_id = messages.id AND outbox.state = 'pending' AND outbox.due_at > ?"

    /// The holds of these messages at `now`, by message id; messages not held are absent.
    public func holds(messageIDs: [MessageID], now: Date) async throws -> [MessageID: MessageHold] {
        guard !messageIDs.isEmpty else { return [:] }
        return try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT messages.id, outbox.due_at, outbox.last_error FROM messages JOIN outbox ON \(Self.heldEntry)
                    WHERE messages.id IN (\(Array(repeating: "?", count: messageIDs.count).joined(separator: ", ")))
                    """, arguments: StatementArguments([now]) + StatementArguments(messageIDs))
            var holds: [MessageID: MessageHold] = [:]
            for row in rows { holds[row[0]] = MessageHold(until: try row.storedDate(atIndex: 1), reason: row[2]) }
            return holds
        }
    }
}
