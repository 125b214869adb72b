import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension AppDatabase {
    /// Records a callback in the message's status history and moves its status forward
    /// only; a callback for an id not yet known is held and applied when the id appears.
    ///
    /// A callback must belong to the message's business, or it changes nothing and is
    /// `ignored`: its `from` must be the number the message went out from, and its
    /// account the one `expectedAccounts` names for that business (a business missing
    /// there has no account check). A callback held for a message not yet known is
    /// checked now against `callback.businessID` and later bound to that business and
    /// number (see `applyHeldCallbacks`).
    public func recordStatusCallback(
        _ callback: StatusCallback, now: Date, expectedAccounts: [String: String]
    ) async throws -> StatusCallbackOutcome {
        try await write(publishing: { db in
            var message = try StoredMessage.filter(
                sql: "provider = ? AND provider_message_id = ?", arguments: [callback.provider, callback.providerMessageID]
            )
            .fetchOne(db)
            var isNamedByURL = false
            if message == nil, let id = callback.messageID,
                let named = try StoredMessage.fetchOne(db, key: id), named.direction == .outbound, named.providerMessageId == nil
            {
                message = named
                isNamedByURL = true
            }
            guard var message else {
                guard let business = callback.businessID else {
                    let reason = "no message has this id and no business sends from \(callback.from ?? "its From")"
                    return (.ignored(StatusCallbackMismatch(businessID: nil, description: reason)), [])
                }
                if let reason = StatusCallbackMismatch.reason(
                    callback, businessID: business, number: callback.from, expectedAccount: expectedAccounts[business])
                {
                    return (.ignored(StatusCallbackMismatch(businessID: business, description: reason)), [])
                }
                try db.execute(
                    sql: """
                        INSERT INTO held_status_callbacks (provider, provider_message_id, status, error_code, error_message, received_at,
                            account_sid, from_number, business_id, opts_out)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        callback.provider, callback.providerMessageID, callback.status.rawValue, callback.errorCode, callback.errorMessage,
                        now, callback.accountID, callback.from, business, callback.optsOut,
                    ])
                return (.held, [])
            }
            let owner = try Self.owner(db, of: message)
            if let reason = StatusCallbackMismatch.reason(
                callback, businessID: owner.businessID, number: owner.number, expectedAccount: expectedAccounts[owner.businessID])
            {
                return (.ignored(StatusCallbackMismatch(businessID: owner.businessID, description: reason)), [])
            }
            if isNamedByURL {
                message.providerMessageId = callback.providerMessageID
                try message.update(db, columns: ["provider_message_id"])
            }
            let status = try Self.apply(db, callback, to: message, at: now)
            let events = InboxEvent.status(businessID: owner.businessID, phone: message.contactPhone, optsOut: callback.optsOut)
            return (.applied(status, businessID: owner.businessID), events)
        })
    }

    /// The business `message` belongs to and our number in it: the one it was sent from,
    /// or for an inbound message the one it came to.
    static func owner(_ db: Database, of message: StoredMessage) throws -> (businessID: String, number: String) {
        guard
            let business = try String.fetchOne(
                db, sql: "SELECT business_id FROM conversations WHERE id = ?", arguments: [message.conversationId])
        else { throw StoredValueError("message \(message.id?.rawValue ?? 0) has no conversation") }
        return (business, message.direction == .outbound ? message.fromNumber : message.toNumber)
    }

    /// Applies `callback` to `message` and returns the message's status now.
    static func apply(_ db: Database, _ callback: StatusCallback, to message: StoredMessage, at now: Date) throws -> DeliveryStatus {
        let last = try Row.fetchOne(
            db, sql: "SELECT status, error_code FROM message_status_events WHERE message_id = ? ORDER BY id DESC LIMIT 1",
            arguments: [message.id])
        let repeated = last.map { $0["status"] == callback.status.rawValue && $0["error_code"] == callback.errorCode } ?? false
        if !repeated {
            try db.execute(
                sql: "INSERT INTO message_status_events (message_id, status, error_code, error_message, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [message.id, callback.status.rawValue, callback.errorCode, callback.errorMessage, now])
        }
        let next = DeliveryStatus.advance(message.status.deliveryStatus, to: callback.status)
        if next.rawValue != message.status.rawValue {
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
        if callback.optsOut { try recordProviderOptOut(db, messageID: message.id!, now: now) }
        return next
    }

    /// Applies, in arrival order, the callbacks held for `sid`, now that a message has it.
    ///
    /// Each was checked when it arrived against the business sending from its `From`; it
    /// applies only if the message is that business's and went out from that number, and
    /// is otherwise dropped with the rest. Rows held before v4 recorded neither and apply
    /// as they always did.
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
            let owner = try owner(db, of: message)
            let business: String? = row["business_id"]
            let from: String? = row["from_number"]
            guard business == nil || business == owner.businessID, from == nil || from == owner.number else { continue }
            let callback = StatusCallback(
                provider: provider, providerMessageID: sid, status: status, errorCode: row["error_code"],
                errorMessage: row["error_message"], messageID: nil, optsOut: row["opts_out"])
            _ = try apply(db, callback, to: message, at: row["received_at"])
        }
        try db.execute(sql: "DELETE FROM held_status_callbacks WHERE provider = ? AND provider_message_id = ?", arguments: [provider, sid])
    }
}
