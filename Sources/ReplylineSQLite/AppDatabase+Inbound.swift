import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension AppDatabase {
    /// Records one inbound message exactly once, in one transaction: the message, the
    /// engine's decision applied (consent, appointment, conversation), the replies as
    /// outbound messages, and the rendered webhook response. A provider message id seen
    /// before returns the stored response and changes nothing.
    ///
    /// - Parameters:
    ///   - decide: the pure engine, called with the contact's state read in this transaction.
    ///   - render: the provider's reply format for the decision; nil when its replies go
    ///     through the outbox instead: each is queued (due now) and the response is empty.
    public func recordInbound(
        _ message: InboundMessage, businessID: String, now: Date,
        decide: @escaping @Sendable (ContactSnapshot) -> Decision,
        render: (@Sendable (Decision) -> String)?
    ) async throws -> InboundOutcome {
        // Everything that does not need the database is done before joining the writer's queue.
        let count = SegmentCounter.count(message.body)
        let media = StoredMessage.encodeMedia(message.media)
        let parameters = StoredMessage.encodeParameters(message.parameters)
        let stamp = StoredDate.text(now)
        let outcome = try await write { db in
            // A retry of a message already recorded: its stored answer, nothing changed.
            if let existing = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, webhook_reply FROM messages WHERE provider = ? AND provider_message_id = ?"),
                arguments: [message.provider, message.providerMessageID])
            {
                return InboundOutcome(reply: existing[1] ?? "", isDuplicate: true, decision: nil, messageID: existing[0])
            }
            let state = try Self.threadState(db, businessID: businessID, phone: message.from, stamp: stamp)
            let contact = state.contact
            let conversation = state.conversation
            let upcoming = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT id, customer_name, service, starts_at, amount_cents, state FROM appointments
                        WHERE contact_id = ? AND starts_at > ? ORDER BY starts_at
                        """), arguments: [contact.id, stamp])
            var appointments: [Appointment] = []
            while let row = try upcoming.next() {
                // A value that does not decode fails this webhook (a 500 the provider
                // retries), never the process.
                guard let state = (row[5] as String?).flatMap(AppointmentState.init(rawValue:)) else {
                    throw StoredValueError("appointment \(row[0] as String? ?? "?") of contact \(contact.id) has no known state")
                }
                appointments.append(
                    Appointment(
                        id: try row.decode(atIndex: 0), customerName: try row.decode(atIndex: 1), service: try row.decode(atIndex: 2),
                        startsAt: try row.storedDate(atIndex: 3), amountCents: try row.decode(atIndex: 4), state: state))
            }
            let decision = decide(
                ContactSnapshot(
                    consent: contact.consent, customerName: contact.name, upcomingAppointments: appointments,
                    lastUnrecognizedReplyAt: conversation.lastUnrecognizedReplyAt))
            let reply = render?(decision) ?? ""
            let appointmentID = decision.appointmentChange?.appointmentID

            // The unique (provider, provider_message_id) decides between two writers that
            // both found no such message above: the second inserts nothing and answers as a
            // retry, before it has changed anything but creating the contact both share.
            try db.cachedStatement(
                sql: """
                    INSERT INTO messages (conversation_id, direction, kind, provider, provider_message_id, from_number, to_number, body,
                        media, segments, encoding, status, intent, parameters, webhook_reply, appointment_id, created_at)
                    VALUES (?, 'inbound', 'inbound', ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?, ?)
                    ON CONFLICT (provider, provider_message_id) DO NOTHING
                    """
            ).execute(arguments: [
                conversation.id, message.provider, message.providerMessageID, message.from, message.to, message.body, media,
                count.segments, count.encoding.rawValue, decision.intent.description, parameters, reply, appointmentID, stamp,
            ])
            guard db.changesCount == 1 else {
                let existing = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT id, webhook_reply FROM messages WHERE provider = ? AND provider_message_id = ?"),
                    arguments: [message.provider, message.providerMessageID])
                return InboundOutcome(reply: existing?[1] ?? "", isDuplicate: true, decision: nil, messageID: existing?[0] ?? MessageID(0))
            }
            let inboundID = MessageID(db.lastInsertedRowID)

            if let change = decision.consentChange, change.to != contact.consent {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, message_id, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    businessID, contact.id, message.from, contact.consent.rawValue, change.to.rawValue, change.source.rawValue,
                    message.providerMessageID, stamp,
                ])
                try db.cachedStatement(sql: "UPDATE contacts SET consent = ? WHERE id = ?").execute(arguments: [
                    change.to.rawValue, contact.id,
                ])
            }
            if let change = decision.appointmentChange {
                // Guarded on the state the engine saw, so a change is never applied twice.
                try db.cachedStatement(sql: "UPDATE appointments SET state = ?, updated_at = ? WHERE id = ? AND state = ?").execute(
                    arguments: [change.to.rawValue, stamp, change.appointmentID, change.from.rawValue])
            }
            var preview = message.body.isEmpty && !message.media.isEmpty ? "[media]" : message.body
            for text in decision.replies {
                let count = SegmentCounter.count(text)
                if render == nil {
                    // Sent by the outbox once this commits, through the business's provider.
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, media, segments,
                                encoding, status, in_reply_to, appointment_id, created_at)
                            VALUES (?, 'outbound', 'reply', ?, ?, ?, ?, '[]', ?, ?, 'queued', ?, ?, ?)
                            """
                    ).execute(arguments: [
                        conversation.id, message.provider, message.to, message.from, text, count.segments, count.encoding.rawValue,
                        inboundID, appointmentID, stamp,
                    ])
                    try db.cachedStatement(
                        sql: "INSERT INTO outbox (message_id, business_id, due_at, attempts, state) VALUES (?, ?, ?, 0, 'pending')"
                    ).execute(arguments: [db.lastInsertedRowID, businessID, stamp])
                    preview = text
                    continue
                }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, media, segments,
                            encoding, status, in_reply_to, appointment_id, created_at, sent_at)
                        VALUES (?, 'outbound', 'reply', ?, ?, ?, ?, '[]', ?, ?, 'accepted', ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    conversation.id, message.provider, message.to, message.from, text, count.segments, count.encoding.rawValue,
                    inboundID, appointmentID, stamp, stamp,
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
                decision.needsReply, decision.staffFlag, stamp, String(preview.prefix(160)), decision.isUnrecognizedAcknowledgement,
                stamp, conversation.id,
            ])
            return InboundOutcome(reply: reply, isDuplicate: false, decision: decision, messageID: inboundID)
        }
        if !outcome.isDuplicate {
            eventHub.publish(InboxEvent.inbound(businessID: businessID, phone: message.from, decision: outcome.decision))
        }
        return outcome
    }

    /// The contact's id, name and consent and its conversation's id and last
    /// acknowledgement, in one statement; both are created on first contact. Insert-or-get:
    /// of two writers creating the same contact, one inserts and both read the one row.
    static func threadState(_ db: Database, businessID: String, phone: String, stamp: String) throws -> (
        contact: (id: Int64, name: String?, consent: ConsentState), conversation: (id: Int64, lastUnrecognizedReplyAt: Date?)
    ) {
        let select = try db.cachedStatement(
            sql: """
                SELECT contacts.id, contacts.name, contacts.consent, conversations.id, conversations.last_unrecognized_reply_at
                FROM contacts LEFT JOIN conversations ON conversations.contact_id = contacts.id
                WHERE contacts.business_id = ? AND contacts.phone = ?
                """)
        for _ in 0..<3 {
            guard let row = try Row.fetchOne(select, arguments: [businessID, phone]) else {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO contacts (business_id, phone, consent, created_at) VALUES (?, ?, 'opted_in', ?)
                        ON CONFLICT (business_id, phone) DO NOTHING
                        """
                ).execute(arguments: [businessID, phone, stamp])
                continue
            }
            let contactID: Int64 = try row.decode(atIndex: 0)
            guard let conversationID = row[3] as Int64? else {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO conversations (business_id, contact_id, last_message_at) VALUES (?, ?, ?)
                        ON CONFLICT (contact_id) DO NOTHING
                        """
                ).execute(arguments: [businessID, contactID, stamp])
                continue
            }
            guard let consent = (row[2] as String?).flatMap(ConsentState.init(rawValue:)) else {
                throw StoredValueError("contact \(contactID) has consent `\(row[2] as String? ?? "NULL")`")
            }
            return (
                (contactID, try row.decode(atIndex: 1), consent), (conversationID, try row.optionalStoredDate(atIndex: 4))
            )
        }
        throw StoredValueError("the contact \(phone) of \(businessID) and its conversation could not be created")
    }

    /// The contact, created opted in on first contact (insert-or-get, as `contactState`).
    static func contact(_ db: Database, businessID: String, phone: String, now: Date) throws -> StoredContact {
        let existing = StoredContact.filter(sql: "business_id = ? AND phone = ?", arguments: [businessID, phone])
        if let contact = try existing.fetchOne(db) { return contact }
        try db.execute(
            sql: """
                INSERT INTO contacts (business_id, phone, consent, created_at) VALUES (?, ?, 'opted_in', ?)
                ON CONFLICT (business_id, phone) DO NOTHING
                """, arguments: [businessID, phone, now])
        guard let contact = try existing.fetchOne(db) else {
            throw StoredValueError("contact \(phone) of \(businessID) could not be created")
        }
        return contact
    }

    /// The contact's conversation, created on first contact (insert-or-get).
    static func conversation(_ db: Database, contact: StoredContact, now: Date) throws -> StoredConversation {
        let existing = StoredConversation.filter(sql: "contact_id = ?", arguments: [contact.id!])
        if let conversation = try existing.fetchOne(db) { return conversation }
        try db.execute(
            sql: """
                INSERT INTO conversations (business_id, contact_id, last_message_at) VALUES (?, ?, ?)
                ON CONFLICT (contact_id) DO NOTHING
                """, arguments: [contact.businessId, contact.id!, now])
        guard let conversation = try existing.fetchOne(db) else {
            throw StoredValueError("the conversation of contact \(contact.id!) could not be created")
        }
        return conversation
    }
}
