import Foundation
import GRDB
import ReplylineCore

/// What happened to one inbound webhook delivery.
public struct InboundOutcome: Sendable {
    /// The exact response body for the provider: freshly rendered, or the stored one on a retry.
    public var reply: String
    /// True when this provider message id was already recorded; nothing changed.
    public var isDuplicate: Bool
    /// The engine's decision; nil on a duplicate.
    public var decision: Decision?
    public var messageID: Int64
}

extension AppDatabase {
    /// Records one inbound message exactly once, in one transaction: the message, the
    /// engine's decision applied (consent, appointment, conversation), the replies as
    /// outbound messages, and the rendered webhook response. A provider message id seen
    /// before returns the stored response and changes nothing.
    ///
    /// - Parameters:
    ///   - decide: the pure engine, called with the contact's state read in this transaction.
    ///   - render: the provider's reply format for the decision.
    public func recordInbound(
        _ message: InboundMessage, businessID: String, now: Date,
        decide: @escaping @Sendable (ContactSnapshot) -> Decision,
        render: @escaping @Sendable (Decision) -> String
    ) async throws -> InboundOutcome {
        // Everything that does not need the database is done before joining the writer's queue.
        let count = SegmentCounter.count(message.body)
        let media = StoredMessage.encodeMedia(message.media)
        let parameters = StoredMessage.encodeParameters(message.parameters)
        let stamp = StoredDate.text(now)
        // The hot path uses cached prepared statements with explicit columns: the single
        // writer runs every transaction, so its per-message work bounds throughput.
        return try await write { db in
            if let existing = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, webhook_reply FROM messages WHERE provider = ? AND provider_message_id = ?"),
                arguments: [message.provider, message.providerMessageID])
            {
                return InboundOutcome(reply: existing["webhook_reply"] ?? "", isDuplicate: true, decision: nil, messageID: existing["id"])
            }
            let contact = try Self.contactState(db, businessID: businessID, phone: message.from, now: now)
            let conversation = try Self.conversationState(db, businessID: businessID, contactID: contact.id, now: now)
            let appointments = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT id, customer_name, service, starts_at, amount_cents, state FROM appointments
                        WHERE contact_id = ? AND starts_at > ? ORDER BY starts_at
                        """), arguments: [contact.id, stamp]
            ).map { row in
                // Throwing reads: a value that does not decode fails this webhook (a 500 the
                // provider retries), never the process.
                try Appointment(
                    id: row.decode(atIndex: 0), customerName: row.decode(atIndex: 1), service: row.decode(atIndex: 2),
                    startsAt: row.decode(atIndex: 3), amountCents: row.decode(atIndex: 4), state: row.decode(atIndex: 5))
            }
            let decision = decide(
                ContactSnapshot(
                    consent: contact.consent, customerName: contact.name, upcomingAppointments: appointments,
                    lastUnrecognizedReplyAt: conversation.lastUnrecognizedReplyAt))
            let reply = render(decision)
            let appointmentID = decision.appointmentChange?.appointmentID

            try db.cachedStatement(
                sql: """
                    INSERT INTO messages (conversation_id, direction, kind, provider, provider_message_id, from_number, to_number, body,
                        media, segments, encoding, status, intent, parameters, webhook_reply, appointment_id, created_at)
                    VALUES (?, 'inbound', 'inbound', ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                conversation.id, message.provider, message.providerMessageID, message.from, message.to, message.body, media,
                count.segments, count.encoding, decision.intent.description, parameters, reply, appointmentID, stamp,
            ])
            let inboundID = db.lastInsertedRowID

            if let change = decision.consentChange, change.to != contact.consent {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, message_id, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    businessID, contact.id, message.from, contact.consent, change.to, change.source, message.providerMessageID, stamp,
                ])
                try db.cachedStatement(sql: "UPDATE contacts SET consent = ? WHERE id = ?").execute(arguments: [change.to, contact.id])
            }
            if let change = decision.appointmentChange {
                // Guarded on the state the engine saw, so a change is never applied twice.
                try db.cachedStatement(sql: "UPDATE appointments SET state = ?, updated_at = ? WHERE id = ? AND state = ?")
                    .execute(arguments: [change.to, stamp, change.appointmentID, change.from])
            }
            var preview = message.body.isEmpty && !message.media.isEmpty ? "[media]" : message.body
            for text in decision.replies {
                let count = SegmentCounter.count(text)
                try db.cachedStatement(
                    sql: """
                        INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, media, segments,
                            encoding, status, in_reply_to, appointment_id, created_at, sent_at)
                        VALUES (?, 'outbound', 'reply', ?, ?, ?, ?, '[]', ?, ?, 'accepted', ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    conversation.id, message.provider, message.to, message.from, text, count.segments, count.encoding, inboundID,
                    appointmentID, stamp, stamp,
                ])
                preview = text
            }
            try db.cachedStatement(
                sql: """
                    UPDATE conversations SET unread_count = unread_count + 1, needs_reply = needs_reply OR ?,
                        staff_flag = COALESCE(?, staff_flag), last_message_at = ?, last_message_preview = ?,
                        last_unrecognized_reply_at = CASE WHEN ? THEN ? ELSE last_unrecognized_reply_at END
                    WHERE id = ?
                    """
            ).execute(arguments: [
                decision.needsReply, decision.staffFlag, stamp, String(preview.prefix(160)), decision.isUnrecognizedAcknowledgement, stamp,
                conversation.id,
            ])
            return InboundOutcome(reply: reply, isDuplicate: false, decision: decision, messageID: inboundID)
        }
    }

    /// The contact's id, name and consent, created opted in on first contact.
    static func contactState(_ db: Database, businessID: String, phone: String, now: Date) throws -> (
        id: Int64, name: String?, consent: ConsentState
    ) {
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, name, consent FROM contacts WHERE business_id = ? AND phone = ?"),
            arguments: [businessID, phone])
        {
            return (row[0], row[1], row[2])
        }
        try db.cachedStatement(sql: "INSERT INTO contacts (business_id, phone, consent, created_at) VALUES (?, ?, 'opted_in', ?)")
            .execute(arguments: [businessID, phone, now])
        return (db.lastInsertedRowID, nil, .optedIn)
    }

    /// The conversation's id and last acknowledgement, created on first contact.
    static func conversationState(_ db: Database, businessID: String, contactID: Int64, now: Date) throws -> (
        id: Int64, lastUnrecognizedReplyAt: Date?
    ) {
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, last_unrecognized_reply_at FROM conversations WHERE contact_id = ?"), arguments: [contactID]
        ) {
            return (row[0], row[1])
        }
        try db.cachedStatement(sql: "INSERT INTO conversations (business_id, contact_id, last_message_at) VALUES (?, ?, ?)")
            .execute(arguments: [businessID, contactID, now])
        return (db.lastInsertedRowID, nil)
    }

    static func contact(_ db: Database, businessID: String, phone: String, now: Date) throws -> StoredContact {
        if let contact = try StoredContact.filter(sql: "business_id = ? AND phone = ?", arguments: [businessID, phone]).fetchOne(db) {
            return contact
        }
        var contact = StoredContact(
            id: nil, businessId: businessID, phone: phone, name: nil, consent: .optedIn, numberInvalid: false, createdAt: now)
        try contact.insert(db)
        return contact
    }

    static func conversation(_ db: Database, contact: StoredContact, now: Date) throws -> StoredConversation {
        if let conversation = try StoredConversation.filter(sql: "contact_id = ?", arguments: [contact.id!]).fetchOne(db) {
            return conversation
        }
        var conversation = StoredConversation(
            id: nil, businessId: contact.businessId, contactId: contact.id!, unreadCount: 0, needsReply: false,
            staffFlag: nil, lastMessageAt: now, lastMessagePreview: "", lastUnrecognizedReplyAt: nil)
        try conversation.insert(db)
        return conversation
    }
}
