import Foundation
import GRDB
import ReplylineCore

/// A due outbox entry with what the worker needs to decide and send.
public struct OutboxItem: Sendable {
    public var entry: OutboxEntry
    public var message: StoredMessage
    public var consent: ConsentState
}

/// How one send attempt ended.
public enum SendResult: Sendable {
    case sent(providerMessageID: String?)
    /// Not sent and never will be (opted out).
    case blocked(reason: String)
    case failed(reason: String)
}

extension AppDatabase {
    /// Pending entries due at `now`, oldest first, with the contact's current consent.
    public func dueOutbox(now: Date, limit: Int) async throws -> [OutboxItem] {
        try await read { db in
            let entries = try OutboxEntry.filter(sql: "state = 'pending' AND due_at <= ?", arguments: [now])
                .order(sql: "due_at, id").limit(limit).fetchAll(db)
            return try entries.compactMap { entry in
                guard let message = try StoredMessage.fetchOne(db, key: entry.messageId),
                    let consent = try ConsentState.fetchOne(
                        db,
                        sql: """
                            SELECT contacts.consent FROM conversations JOIN contacts ON contacts.id = conversations.contact_id
                            WHERE conversations.id = ?
                            """, arguments: [message.conversationId])
                else { return nil }
                return OutboxItem(entry: entry, message: message, consent: consent)
            }
        }
    }

    /// Records the outcome of sending `entry`; only a still-pending entry changes, so an
    /// outcome is never applied twice.
    public func finishSend(_ entry: OutboxEntry, result: SendResult, now: Date) async throws {
        try await write { db in
            let (state, providerID, reason): (String, String?, String?) =
                switch result {
                case .sent(let id): ("sent", id, nil)
                case .blocked(let reason): ("blocked", nil, reason)
                case .failed(let reason): ("failed", nil, reason)
                }
            try db.execute(
                sql: "UPDATE outbox SET state = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'",
                arguments: [state, entry.id])
            guard db.changesCount == 1 else { return }
            try db.execute(
                sql: """
                    UPDATE messages SET status = ?, error_message = ?, provider_message_id = COALESCE(?, provider_message_id)
                    WHERE id = ?
                    """,
                arguments: [state, reason, providerID, entry.messageId])
        }
    }
}
