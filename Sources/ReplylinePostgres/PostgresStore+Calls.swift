import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

extension PostgresStore {
    /// Records a call event and queues the SMS it asks for, in one transaction under the
    /// call's lock, then the contact's: a retry on another instance waits and then finds
    /// every SMS recorded (or, naming another phone, the call taken), and a STOP cannot slip
    /// between the consent check and the queueing. No transaction holding a contact's lock
    /// waits for a call's, so the two cannot deadlock.
    public func recordCall(
        _ call: CallRecord, sms: [CallSMSRequest], businessID: String, provider: String, fromNumber: String, now: Date
    ) async throws -> CallEventOutcome {
        try await write(notifying: { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended(\(businessID + " call " + call.callID), 0))")
            try await Self.lockContact(connection, businessID: businessID, phone: call.phone)
            let (contact, conversationID) = try await Self.contact(connection, businessID: businessID, phone: call.phone, now: now)
            var created = false
            let callRef: Int64
            if let row = try await connection.row(
                """
                SELECT calls.id, calls.agent, contacts.phone, calls.variables, calls.ended_at
                FROM calls JOIN contacts ON contacts.id = calls.contact_id
                WHERE calls.business_id = \(businessID) AND calls.call_id = \(call.callID)
                """)
            {
                let phone = try row.get(2, as: String.self)
                guard phone == call.phone else { throw CallEventConflict.differentCall(field: "phone", recorded: phone) }
                let agent = try row.get(1, as: String.self)
                guard agent == call.agent else { throw CallEventConflict.differentCall(field: "agent", recorded: agent) }
                callRef = try row.get(0)
                let variables = try CallRecord.variables(json: try row.get(3)).merging(call.variables) { _, new in new }
                let endedAt = try row.get(4, as: Date?.self) ?? call.endedAt
                try await connection.run(
                    "UPDATE calls SET variables = \(CallRecord.json(variables: variables)), ended_at = \(endedAt) WHERE id = \(callRef)")
            } else {
                guard
                    let row = try await connection.row(
                        """
                        INSERT INTO calls (business_id, call_id, agent, contact_id, variables, ended_at, created_at)
                        VALUES (\(businessID), \(call.callID), \(call.agent), \(contact.id!.rawValue), \(call.variablesJSON),
                            \(call.endedAt), \(now))
                        RETURNING id
                        """)
                else { throw StoredValueError("call \(call.callID) was not stored") }
                callRef = try row.get(0)
                created = true
            }
            var queued: [MessageID] = []
            var recorded: [String] = []
            var preview: String?
            for request in sms {
                let known = try await connection.row("SELECT 1 FROM call_sms WHERE call_ref = \(callRef) AND key = \(request.key)")
                if known != nil { continue }
                var refusal = request.refusal
                if refusal == nil && contact.consent != .optedIn { refusal = .optedOut }
                var messageID: MessageID?
                if refusal == nil {
                    messageID = try await Self.insertOutbound(
                        connection, conversationID: conversationID, kind: request.kind, body: request.body, media: [],
                        appointmentID: nil, provider: provider, fromNumber: fromNumber, to: call.phone, businessID: businessID,
                        now: now, dueAt: request.dueAt, holdNote: request.holdNote
                    ).id
                    queued.append(messageID!)
                    preview = String(request.body.prefix(160))
                }
                try await connection.run(
                    """
                    INSERT INTO call_sms (call_ref, key, action, kind, class, body, message_id, refusal, created_at)
                    VALUES (\(callRef), \(request.key), \(request.action), \(request.kind.rawValue), \(request.messageClass.rawValue),
                        \(request.body), \(messageID?.rawValue), \(refusal?.rawValue), \(now))
                    """)
                recorded.append(request.key)
            }
            if let preview {
                try await connection.run(
                    "UPDATE conversations SET last_message_at = \(now), last_message_preview = \(preview) WHERE id = \(conversationID)")
            }
            let log = try await Self.callLog(connection, callRef: callRef, now: now)!
            let events = queued.isEmpty ? [] : [InboxEvent(businessID: businessID, kind: .message, phone: call.phone)]
            return (CallEventOutcome(log: log, createdCall: created, queued: queued, recorded: recorded), events)
        })
    }

    public func callLog(businessID: String, callID: String, now: Date) async throws -> CallLog? {
        try await read { connection -> CallLog? in
            guard let row = try await connection.row("SELECT id FROM calls WHERE business_id = \(businessID) AND call_id = \(callID)")
            else { return nil }
            return try await Self.callLog(connection, callRef: try row.get(0), now: now)
        }
    }

    public func callLogs(businessID: String, since: Date, limit: Int, after cursor: CallCursor?, now: Date) async throws -> CallLogPage {
        try await read { connection in
            // The cursor's own row gives the time to continue from, exactly as stored: a time
            // carried in the cursor would be rounded on its way.
            let rows = try await connection.rows(
                cursor.map { cursor in
                    """
                    SELECT id FROM calls
                    WHERE business_id = \(businessID) AND created_at >= \(since)
                        AND (created_at, id) > ((SELECT created_at FROM calls WHERE id = \(cursor.id) AND business_id = \(businessID)),
                            \(cursor.id))
                    ORDER BY created_at, id LIMIT \(limit + 1)
                    """
                }
                    ?? """
                    SELECT id FROM calls WHERE business_id = \(businessID) AND created_at >= \(since)
                    ORDER BY created_at, id LIMIT \(limit + 1)
                    """)
            var logs: [CallLog] = []
            for row in rows.prefix(limit) {
                if let log = try await Self.callLog(connection, callRef: try row.get(0), now: now) { logs.append(log) }
            }
            let last = rows.count > limit ? rows[limit - 1] : nil
            return CallLogPage(logs: logs, next: try last.map { CallCursor(id: try $0.get(0)) })
        }
    }

    /// The call stored as `callRef` and each SMS it asked for, with messages, histories,
    /// holds at `now` and the contact's replies.
    static func callLog(_ connection: PostgresConnection, callRef: Int64, now: Date) async throws -> CallLog? {
        guard
            let row = try await connection.row(
                """
                SELECT calls.call_id, calls.agent, contacts.phone, calls.ended_at, calls.variables, calls.created_at
                FROM calls JOIN contacts ON contacts.id = calls.contact_id WHERE calls.id = \(callRef)
                """)
        else { return nil }
        let call = CallRecord(
            callID: try row.get(0), agent: try row.get(1), phone: try row.get(2), endedAt: try row.get(3),
            variables: try CallRecord.variables(json: try row.get(4)), receivedAt: try row.get(5))
        var sms: [CallSMS] = []
        for row in try await connection.rows(
            """
            SELECT call_sms.key, call_sms.action, call_sms.kind, call_sms.class, call_sms.created_at, call_sms.refusal,
                \(unescaped: StoredMessage.columns()), outbox.due_at, outbox.last_error, call_sms.body
            FROM call_sms LEFT JOIN messages ON messages.id = call_sms.message_id
                LEFT JOIN outbox ON outbox.message_id = messages.id AND outbox.state = 'pending' AND outbox.due_at > \(now)
            WHERE call_sms.call_ref = \(callRef) ORDER BY call_sms.id
            """)
        {
            let kind = try row.get(2, as: String.self)
            let messageClass = try row.get(3, as: String.self)
            guard let kind = MessageKind(rawValue: kind), let messageClass = SMSAction.MessageClass(rawValue: messageClass) else {
                throw StoredValueError("call SMS \(try row.get(0, as: String.self)) has kind `\(kind)` and class `\(messageClass)`")
            }
            var message: ThreadMessage?
            var replies: [StoredMessage] = []
            let columns = StoredMessage.columnCount
            if try row.get(6, as: Int64?.self) != nil {
                let outbound = try StoredMessage(postgres: row, from: 6)
                let id = outbound.id!.rawValue
                let history = try await connection.rows(
                    "SELECT \(unescaped: StatusEvent.columns) FROM message_status_events WHERE message_id = \(id) ORDER BY id"
                ).map({ try StatusEvent(postgres: $0) })
                let hold = try row.get(6 + columns, as: Date?.self).map {
                    MessageHold(until: $0, reason: try row.get(7 + columns))
                }
                message = ThreadMessage(message: outbound, history: history, hold: hold)
                let conversation = outbound.conversationId.rawValue
                replies = try await connection.rows(
                    """
                    SELECT \(unescaped: StoredMessage.columns()) FROM messages
                    WHERE conversation_id = \(conversation) AND direction = 'inbound' AND id > \(id)
                        AND id < COALESCE((SELECT MIN(id) FROM messages WHERE conversation_id = \(conversation) AND id > \(id)
                            AND direction = 'outbound' AND kind <> 'reply'), 9223372036854775807)
                    ORDER BY id LIMIT \(CallLog.replyLimit)
                    """
                ).map({ try StoredMessage(postgres: $0) })
            }
            sms.append(
                CallSMS(
                    key: try row.get(0), action: try row.get(1), kind: kind, messageClass: messageClass, requestedAt: try row.get(4),
                    body: try row.get(8 + columns), refusal: try row.get(5, as: String?.self).flatMap(CallSMSRefusal.init(rawValue:)),
                    message: message,
                    replies: replies))
        }
        return CallLog(call: call, sms: sms)
    }
}
