import Foundation
import GRDB
import ReplylineStore

extension AppDatabase {
    /// The newest `limit` messages of a thread older than `before` (a message id), oldest
    /// first, each with its hold at `now` if the outbox holds it. Nil when there is no thread.
    public func threadPage(businessID: String, phone: String, limit: Int, before: MessageID?, now: Date) async throws -> ThreadPage? {
        try await read { db in
            guard let conversationID = try Self.conversationID(db, businessID: businessID, phone: phone) else { return nil }
            let before = before?.rawValue ?? Int64.max
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
            // with the join, 1.1-1.6 guarded. The thread tests compare with `holds`, which has
            // no such guard, so a waiting status left out here shows there.
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT \(StoredMessage.threadColumns),
                            CASE WHEN status = 'queued' OR status = 'scheduled' THEN (SELECT due_at FROM outbox WHERE \(Self.heldEntry)) END,
                            CASE WHEN status = 'queued' OR status = 'scheduled' THEN (SELECT last_error FROM outbox WHERE \(Self.heldEntry)) END
                        FROM messages WHERE conversation_id = ? AND id > ? AND id < ? ORDER BY id
                        """), arguments: [now, now, conversationID, after, before])
            var messages: [ThreadMessage] = []
            messages.reserveCapacity(limit)
            var nextEvent = history.startIndex
            while let row = try rows.next() {
                let message = try StoredMessage(threadRow: row)
                let id = message.id!
                while nextEvent < history.endIndex, history[nextEvent].messageId.rawValue < id.rawValue { nextEvent += 1 }
                let start = nextEvent
                while nextEvent < history.endIndex, history[nextEvent].messageId == id { nextEvent += 1 }
                let hold = try row.optionalStoredDate(atIndex: 20).map { MessageHold(until: $0, reason: row[21]) }
                messages.append(ThreadMessage(message: message, history: Array(history[start..<nextEvent]), hold: hold))
            }
            return ThreadPage(messages: messages, hasOlder: boundary != nil)
        }
    }
}
