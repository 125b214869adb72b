import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

extension PostgresStore {
    /// As the SQLite store's: recorded in the history, the status moved forward only, held
    /// when the id is not yet known, ignored when it does not belong to the business.
    public func recordStatusCallback(
        _ callback: StatusCallback, now: Date, expectedAccounts: [String: String]
    ) async throws -> StatusCallbackOutcome {
        try await write(notifying: { connection in
            // Callbacks for one provider id, and the send that learns that id, take turns on
            // every instance: a callback held here is seen by the send that stores the id.
            try await Self.lockProviderMessage(connection, provider: callback.provider, id: callback.providerMessageID)
            var message = try await connection.row(
                """
                SELECT \(unescaped: StoredMessage.columns()) FROM messages
                WHERE provider = \(callback.provider) AND provider_message_id = \(callback.providerMessageID) FOR UPDATE
                """
            ).map({ try StoredMessage(postgres: $0) })
            var isNamedByURL = false
            if message == nil, let id = callback.messageID,
                let named = try await connection.row(
                    "SELECT \(unescaped: StoredMessage.columns()) FROM messages WHERE id = \(id.rawValue) FOR UPDATE"
                ).map({ try StoredMessage(postgres: $0) }),
                named.direction == .outbound, named.providerMessageId == nil
            {
                message = named
                isNamedByURL = true
            }
            guard let message else {
                guard let business = callback.businessID else {
                    let reason = "no message has this id and no business sends from \(callback.from ?? "its From")"
                    return (.ignored(StatusCallbackMismatch(businessID: nil, description: reason)), [])
                }
                if let reason = StatusCallbackMismatch.reason(
                    callback, businessID: business, number: callback.from, expectedAccount: expectedAccounts[business])
                {
                    return (.ignored(StatusCallbackMismatch(businessID: business, description: reason)), [])
                }
                try await connection.run(
                    """
                    INSERT INTO held_status_callbacks (provider, provider_message_id, status, error_code, error_message, received_at,
                        account_sid, from_number, business_id, opts_out)
                    VALUES (\(callback.provider), \(callback.providerMessageID), \(callback.status.rawValue), \(callback.errorCode),
                        \(callback.errorMessage), \(now), \(callback.accountID), \(callback.from), \(business), \(callback.optsOut))
                    """)
                return (.held, [])
            }
            let owner = try await Self.owner(connection, of: message)
            if let reason = StatusCallbackMismatch.reason(
                callback, businessID: owner.businessID, number: owner.number, expectedAccount: expectedAccounts[owner.businessID])
            {
                return (.ignored(StatusCallbackMismatch(businessID: owner.businessID, description: reason)), [])
            }
            if isNamedByURL {
                try await connection.run(
                    "UPDATE messages SET provider_message_id = \(callback.providerMessageID) WHERE id = \(message.id!.rawValue)")
            }
            let status = try await Self.apply(connection, callback, to: message, at: now)
            let events = InboxEvent.status(businessID: owner.businessID, phone: message.contactPhone, optsOut: callback.optsOut)
            return (.applied(status, businessID: owner.businessID), events)
        })
    }

    /// Takes the advisory lock of one provider message id until the transaction ends.
    static func lockProviderMessage(_ connection: PostgresConnection, provider: String, id: String) async throws {
        try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended(\(provider) || ' message ' || \(id), 0))")
    }

    /// The business `message` belongs to and our number in it.
    static func owner(_ connection: PostgresConnection, of message: StoredMessage) async throws -> (businessID: String, number: String) {
        guard
            let business = try await connection.row(
                "SELECT business_id FROM conversations WHERE id = \(message.conversationId.rawValue)")?.get(0, as: String.self)
        else { throw StoredValueError("message \(message.id?.rawValue ?? 0) has no conversation") }
        return (business, message.direction == .outbound ? message.fromNumber : message.toNumber)
    }

    /// Applies `callback` to `message` (locked by the caller) and returns its status now.
    static func apply(
        _ connection: PostgresConnection, _ callback: StatusCallback, to message: StoredMessage, at now: Date
    ) async throws -> DeliveryStatus {
        let id = message.id!.rawValue
        let last = try await connection.row(
            "SELECT status, error_code FROM message_status_events WHERE message_id = \(id) ORDER BY id DESC LIMIT 1")
        let repeated =
            try last.map { try $0.get(0, as: String.self) == callback.status.rawValue && $0.get(1) == callback.errorCode } ?? false
        if !repeated {
            try await connection.run(
                """
                INSERT INTO message_status_events (message_id, status, error_code, error_message, created_at)
                VALUES (\(id), \(callback.status.rawValue), \(callback.errorCode), \(callback.errorMessage), \(now))
                """)
        }
        let next = DeliveryStatus.advance(message.status.deliveryStatus, to: callback.status)
        if next.rawValue != message.status.rawValue {
            let keepsError = next == .failed || next == .undelivered
            try await connection.run(
                """
                UPDATE messages SET status = \(next.rawValue), error_code = \(keepsError ? callback.errorCode : message.errorCode),
                    error_message = \(keepsError ? callback.errorMessage : message.errorMessage), sent_at = COALESCE(sent_at, \(now))
                WHERE id = \(id)
                """)
            // A send that a crash left unknown is settled by the provider's word.
            try await connection.run("UPDATE outbox SET state = 'sent' WHERE message_id = \(id) AND state = 'unknown'")
        }
        if callback.optsOut { try await recordProviderOptOut(connection, messageID: id, now: now) }
        return next
    }

    /// Applies, in arrival order, the callbacks held for `sid`, now that a message has it
    /// (see the SQLite store's `applyHeldCallbacks`).
    static func applyHeldCallbacks(_ connection: PostgresConnection, provider: String, sid: String) async throws {
        let held = try await connection.rows(
            """
            DELETE FROM held_status_callbacks WHERE provider = \(provider) AND provider_message_id = \(sid)
            RETURNING id, status, error_code, error_message, received_at, business_id, from_number, opts_out
            """
        ).sorted { try $0.get(0, as: Int64.self) < $1.get(0, as: Int64.self) }
        for row in held {
            guard
                let message = try await connection.row(
                    """
                    SELECT \(unescaped: StoredMessage.columns()) FROM messages WHERE provider = \(provider) AND provider_message_id = \(sid)
                    FOR UPDATE
                    """
                ).map({ try StoredMessage(postgres: $0) }),
                let status = DeliveryStatus(rawValue: try row.get(1))
            else { continue }
            let owner = try await owner(connection, of: message)
            let business: String? = try row.get(5)
            let from: String? = try row.get(6)
            guard business == nil || business == owner.businessID, from == nil || from == owner.number else { continue }
            let callback = StatusCallback(
                provider: provider, providerMessageID: sid, status: status, errorCode: try row.get(2), errorMessage: try row.get(3),
                messageID: nil, optsOut: try row.get(7))
            _ = try await apply(connection, callback, to: message, at: try row.get(4))
        }
    }

    /// The provider says the contact unsubscribed: opted out, in the ledger, under the
    /// contact's lock (an inbound STOP or START may be deciding on the same contact).
    static func recordProviderOptOut(_ connection: PostgresConnection, messageID: Int64, now: Date) async throws {
        guard
            let row = try await connection.row(
                """
                SELECT contacts.business_id, contacts.phone FROM contacts JOIN conversations ON conversations.contact_id = contacts.id
                JOIN messages ON messages.conversation_id = conversations.id WHERE messages.id = \(messageID)
                """)
        else { return }
        let businessID: String = try row.get(0)
        let phone: String = try row.get(1)
        try await lockContact(connection, businessID: businessID, phone: phone)
        try await connection.run(
            """
            WITH changed AS (
                UPDATE contacts SET consent = 'opted_out' WHERE business_id = \(businessID) AND phone = \(phone) AND consent = 'opted_in'
                RETURNING id, business_id, phone)
            INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, created_at)
            SELECT business_id, id, phone, 'opted_in', 'opted_out', 'provider', \(now) FROM changed
            """)
    }
}
