import Foundation
import GRDB
import ReplylineCore

/// A delivery-status callback as a provider adapter delivers it.
public struct StatusCallback: Sendable, Equatable {
    public var provider: String
    public var providerMessageID: String
    public var status: DeliveryStatus
    public var errorCode: String?
    public var errorMessage: String?
    /// Our message id, when the callback URL carried it (`?m=`): it lets a callback that
    /// beats the REST response find its message.
    public var messageID: Int64?

    public init(
        provider: String, providerMessageID: String, status: DeliveryStatus, errorCode: String?, errorMessage: String?, messageID: Int64?
    ) {
        self.provider = provider
        self.providerMessageID = providerMessageID
        self.status = status
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.messageID = messageID
    }
}

/// What a status callback did.
public enum StatusCallbackOutcome: Sendable, Equatable {
    /// Applied: the message's status is now this (it never moves backwards).
    case applied(DeliveryStatus)
    /// No message has that id yet: held until one does.
    case held
}

extension AppDatabase {
    /// Records a callback in the message's status history and moves its status forward
    /// only; a callback for an id not yet known is held and applied when the id appears.
    public func recordStatusCallback(_ callback: StatusCallback, now: Date) async throws -> StatusCallbackOutcome {
        try await write { db in
            var message = try StoredMessage.filter(
                sql: "provider = ? AND provider_message_id = ?", arguments: [callback.provider, callback.providerMessageID]
            )
            .fetchOne(db)
            if message == nil, let id = callback.messageID,
                var named = try StoredMessage.fetchOne(db, key: id), named.direction == .outbound, named.providerMessageId == nil
            {
                named.providerMessageId = callback.providerMessageID
                try named.update(db, columns: ["provider_message_id"])
                message = named
            }
            guard let message else {
                try db.execute(
                    sql: """
                        INSERT INTO held_status_callbacks (provider, provider_message_id, status, error_code, error_message, received_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        callback.provider, callback.providerMessageID, callback.status.rawValue, callback.errorCode, callback.errorMessage,
                        now,
                    ])
                return .held
            }
            return try Self.apply(db, callback, to: message, at: now)
        }
    }

    static func apply(_ db: Database, _ callback: StatusCallback, to message: StoredMessage, at now: Date) throws -> StatusCallbackOutcome {
        let last = try Row.fetchOne(
            db, sql: "SELECT status, error_code FROM message_status_events WHERE message_id = ? ORDER BY id DESC LIMIT 1",
            arguments: [message.id])
        let repeated = last.map { $0["status"] == callback.status.rawValue && $0["error_code"] == callback.errorCode } ?? false
        if !repeated {
            try db.execute(
                sql: "INSERT INTO message_status_events (message_id, status, error_code, error_message, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [message.id, callback.status.rawValue, callback.errorCode, callback.errorMessage, now])
        }
        let next = DeliveryStatus.advance(DeliveryStatus(rawValue: message.status), to: callback.status)
        if next.rawValue != message.status {
            let keepsError = next == .failed || next == .undelivered
            try db.execute(
                sql: "UPDATE messages SET status = ?, error_code = ?, error_message = ?, sent_at = COALESCE(sent_at, ?) WHERE id = ?",
                arguments: [
                    next.rawValue, keepsError ? callback.errorCode : message.errorCode,
                    keepsError ? callback.errorMessage : message.errorMessage,
                    now, message.id,
                ])
            // A send that a crash left unknown is settled by the provider's word.
            try db.execute(sql: "UPDATE outbox SET state = 'sent' WHERE message_id = ? AND state = 'unknown'", arguments: [message.id])
        }
        if callback.errorCode == "21610" { try recordProviderOptOut(db, messageID: message.id!, now: now) }
        return .applied(next)
    }

    /// Applies, in arrival order, the callbacks held for `sid`, now that a message has it.
    static func applyHeldCallbacks(_ db: Database, provider: String, sid: String) throws {
        let held = try Row.fetchAll(
            db, sql: "SELECT * FROM held_status_callbacks WHERE provider = ? AND provider_message_id = ? ORDER BY id",
            arguments: [provider, sid])
        guard !held.isEmpty else { return }
        for row in held {
            guard
                let message = try StoredMessage.filter(sql: "provider = ? AND provider_message_id = ?", arguments: [provider, sid])
                    .fetchOne(db),
                let status = DeliveryStatus(rawValue: row["status"])
            else { continue }
            let callback = StatusCallback(
                provider: provider, providerMessageID: sid, status: status, errorCode: row["error_code"],
                errorMessage: row["error_message"],
                messageID: nil)
            _ = try apply(db, callback, to: message, at: row["received_at"])
        }
        try db.execute(sql: "DELETE FROM held_status_callbacks WHERE provider = ? AND provider_message_id = ?", arguments: [provider, sid])
    }
}
