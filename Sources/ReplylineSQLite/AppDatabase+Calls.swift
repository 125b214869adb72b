import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension AppDatabase {
    /// Records a call event and queues the SMS it asks for, in one transaction (see
    /// `ConversationStore.recordCall`).
    public func recordCall(
        _ call: CallRecord, sms: [CallSMSRequest], businessID: String, provider: String, fromNumber: String, now: Date
    ) async throws -> CallEventOutcome {
        try await write(publishing: { db in
            let contact = try Self.contact(db, businessID: businessID, phone: call.phone, now: now)
            var created = false
            let callRef: Int64
            if let row = try Row.fetchOne(
                db, sql: "SELECT id, agent, contact_id, variables, ended_at FROM calls WHERE business_id = ? AND call_id = ?",
                arguments: [businessID, call.callID])
            {
                let recordedContact: Int64 = row[2]
                if recordedContact != contact.id!.rawValue {
                    let phone = try String.fetchOne(db, sql: "SELECT phone FROM contacts WHERE id = ?", arguments: [recordedContact])
                    throw CallEventConflict.differentCall(field: "phone", recorded: phone ?? "another phone")
                }
                guard row[1] == call.agent else { throw CallEventConflict.differentCall(field: "agent", recorded: row[1]) }
                callRef = row[0]
                let variables = try CallRecord.variables(json: row[3]).merging(call.variables) { _, new in new }
                let endedAt = try row.optionalStoredDate(atIndex: 4) ?? call.endedAt
                try db.execute(
                    sql: "UPDATE calls SET variables = ?, ended_at = ? WHERE id = ?",
                    arguments: [CallRecord.json(variables: variables), endedAt, callRef])
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO calls (business_id, call_id, agent, contact_id, variables, ended_at, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [businessID, call.callID, call.agent, contact.id!, call.variablesJSON, call.endedAt, now])
                callRef = db.lastInsertedRowID
                created = true
            }
            var queued: [MessageID] = []
            var recorded: [String] = []
            var conversation: StoredConversation?
            for request in sms {
                let known = try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM call_sms WHERE call_ref = ? AND key = ?)", arguments: [callRef, request.key])
                if known == true { continue }
                var refusal = request.refusal
                if refusal == nil && contact.consent != .optedIn { refusal = .optedOut }
                var messageID: MessageID?
                if refusal == nil {
                    if conversation == nil { conversation = try Self.conversation(db, contact: contact, now: now) }
                    messageID = try Self.insertOutbound(
                        db, conversation: &conversation!, kind: request.kind, body: request.body, media: [], appointmentID: nil,
                        provider: provider, fromNumber: fromNumber, to: call.phone, businessID: businessID, now: now,
                        dueAt: request.dueAt, holdNote: request.holdNote
                    ).id
                    queued.append(messageID!)
                }
                try db.execute(
                    sql: """
                        INSERT INTO call_sms (call_ref, key, action, kind, class, body, message_id, refusal, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        callRef, request.key, request.action, request.kind.rawValue, request.messageClass.rawValue, request.body, messageID,
                        refusal?.rawValue, now,
                    ])
                recorded.append(request.key)
            }
            try conversation?.update(db)
            let log = try Self.callLog(db, callRef: callRef, now: now)!
            let events = queued.isEmpty ? [] : [InboxEvent(businessID: businessID, kind: .message, phone: call.phone)]
            return (CallEventOutcome(log: log, createdCall: created, queued: queued, recorded: recorded), events)
        })
    }

    public func callLog(businessID: String, callID: String, now: Date) async throws -> CallLog? {
        try await read { db in
            guard
                let callRef = try Int64.fetchOne(
                    db, sql: "SELECT id FROM calls WHERE business_id = ? AND call_id = ?", arguments: [businessID, callID])
            else { return nil }
            return try Self.callLog(db, callRef: callRef, now: now)
        }
    }

    public func callLogs(businessID: String, since: Date, limit: Int, after cursor: CallCursor?, now: Date) async throws -> CallLogPage {
        try await read { db in
            // The cursor's own row gives the time to continue from, exactly as stored.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id FROM calls
                    WHERE business_id = ? AND created_at >= ?
                        AND (created_at, id) > (COALESCE((SELECT created_at FROM calls WHERE id = ? AND business_id = ?), ?), ?)
                    ORDER BY created_at, id LIMIT ?
                    """,
                arguments: [businessID, since, cursor?.id ?? 0, businessID, since, cursor?.id ?? 0, limit + 1])
            var logs: [CallLog] = []
            for row in rows.prefix(limit) { logs.append(try Self.callLog(db, callRef: row[0], now: now)!) }
            let last = rows.count > limit ? rows[limit - 1] : nil
            return CallLogPage(logs: logs, next: last.map { CallCursor(id: $0[0]) })
        }
    }

    /// The call stored as `callRef` and each SMS it asked for, with messages, histories,
    /// holds at `now` and the contact's replies.
    static func callLog(_ db: Database, callRef: Int64, now: Date) throws -> CallLog? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT calls.call_id, calls.agent, contacts.phone, calls.ended_at, calls.variables, calls.created_at
                    FROM calls JOIN contacts ON contacts.id = calls.contact_id WHERE calls.id = ?
                    """, arguments: [callRef])
        else { return nil }
        let call = CallRecord(
            callID: row[0], agent: row[1], phone: row[2], endedAt: try row.optionalStoredDate(atIndex: 3),
            variables: try CallRecord.variables(json: row[4]), receivedAt: try row.storedDate(atIndex: 5))
        var sms: [CallSMS] = []
        for row in try Row.fetchAll(
            db, sql: "SELECT key, action, kind, class, created_at, refusal, message_id, body FROM call_sms WHERE call_ref = ? ORDER BY id",
            arguments: [callRef])
        {
            let kind: String = row[2]
            let messageClass: String = row[3]
            let refusal: String? = row[5]
            guard let kind = MessageKind(rawValue: kind), let messageClass = SMSAction.MessageClass(rawValue: messageClass) else {
                throw StoredValueError("call SMS \(row[0] as String) has kind `\(kind)` and class `\(messageClass)`")
            }
            var message: ThreadMessage?
            var replies: [StoredMessage] = []
            if let id: Int64 = row[6], let stored = try Row.fetchOne(db, sql: "SELECT * FROM messages WHERE id = ?", arguments: [id]) {
                let outbound = try StoredMessage(row: stored)
                let history = try Row.fetchAll(
                    db,
                    sql: "SELECT \(StatusEvent.columns) FROM message_status_events WHERE message_id = ? ORDER BY id",
                    arguments: [id]
                ).map(StatusEvent.init(positional:))
                let hold = try Row.fetchOne(
                    db, sql: "SELECT outbox.due_at, outbox.last_error FROM outbox, messages WHERE messages.id = ? AND \(heldEntry)",
                    arguments: [id, now]
                ).map { MessageHold(until: try $0.storedDate(atIndex: 0), reason: $0[1]) }
                message = ThreadMessage(message: outbound, history: history, hold: hold)
                replies = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM messages WHERE conversation_id = ? AND direction = 'inbound' AND id > ?
                            AND id < COALESCE((SELECT MIN(id) FROM messages WHERE conversation_id = ? AND id > ?
                                AND direction = 'outbound' AND kind <> 'reply'), 9223372036854775807)
                        ORDER BY id LIMIT \(CallLog.replyLimit)
                        """, arguments: [outbound.conversationId, id, outbound.conversationId, id]
                ).map(StoredMessage.init(row:))
            }
            sms.append(
                CallSMS(
                    key: row[0], action: row[1], kind: kind, messageClass: messageClass, requestedAt: try row.storedDate(atIndex: 4),
                    body: row[7], refusal: refusal.flatMap(CallSMSRefusal.init(rawValue:)), message: message, replies: replies))
        }
        return CallLog(call: call, sms: sms)
    }
}
