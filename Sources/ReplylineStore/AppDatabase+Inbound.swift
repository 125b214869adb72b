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
        // The single writer runs every transaction, so its per-message work bounds
        // throughput: cached statements with explicit columns, bound and read through
        // SQLite's C API (see `RawStatement`).
        return try await write { db in
            let existing = try RawStatement(db, "SELECT id, webhook_reply FROM messages WHERE provider = ? AND provider_message_id = ?")
            existing.bind(.text(message.provider), .text(message.providerMessageID))
            if try existing.step() {
                return InboundOutcome(reply: existing.text(1) ?? "", isDuplicate: true, decision: nil, messageID: existing.integer(0))
            }
            let contact = try Self.contactState(db, businessID: businessID, phone: message.from, stamp: stamp)
            let conversation = try Self.conversationState(db, businessID: businessID, contactID: contact.id, stamp: stamp)
            var appointments: [Appointment] = []
            let upcoming = try RawStatement(
                db,
                """
                SELECT id, customer_name, service, starts_at, amount_cents, state FROM appointments
                WHERE contact_id = ? AND starts_at > ? ORDER BY starts_at
                """)
            upcoming.bind(.integer(contact.id), .text(stamp))
            while try upcoming.step() {
                // A value that does not decode fails this webhook (a 500 the provider
                // retries), never the process.
                guard let id = upcoming.text(0), let service = upcoming.text(2), let startsAt = try upcoming.date(3),
                    let state = upcoming.text(5).flatMap(AppointmentState.init(rawValue:))
                else { throw StoredValueError("appointment \(upcoming.text(0) ?? "?") of contact \(contact.id) does not decode") }
                appointments.append(
                    Appointment(
                        id: id, customerName: upcoming.text(1), service: service, startsAt: startsAt,
                        amountCents: upcoming.isNull(4) ? nil : Int(upcoming.integer(4)), state: state))
            }
            let decision = decide(
                ContactSnapshot(
                    consent: contact.consent, customerName: contact.name, upcomingAppointments: appointments,
                    lastUnrecognizedReplyAt: conversation.lastUnrecognizedReplyAt))
            let reply = render?(decision) ?? ""
            let appointmentID = decision.appointmentChange?.appointmentID

            let insert = try RawStatement(
                db,
                """
                INSERT INTO messages (conversation_id, direction, kind, provider, provider_message_id, from_number, to_number, body,
                    media, segments, encoding, status, intent, parameters, webhook_reply, appointment_id, created_at)
                VALUES (?, 'inbound', 'inbound', ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?, ?)
                """)
            insert.bind(
                .integer(conversation.id), .text(message.provider), .text(message.providerMessageID), .text(message.from),
                .text(message.to), .text(message.body), .text(media), .integer(count.segments), .text(count.encoding.rawValue),
                .text(decision.intent.description), .text(parameters), .text(reply), .text(appointmentID), .text(stamp))
            try insert.run()
            let inboundID = db.lastInsertedRowID

            if let change = decision.consentChange, change.to != contact.consent {
                let event = try RawStatement(
                    db,
                    """
                    INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, message_id, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                event.bind(
                    .text(businessID), .integer(contact.id), .text(message.from), .text(contact.consent.rawValue),
                    .text(change.to.rawValue), .text(change.source.rawValue), .text(message.providerMessageID), .text(stamp))
                try event.run()
                let consent = try RawStatement(db, "UPDATE contacts SET consent = ? WHERE id = ?")
                consent.bind(.text(change.to.rawValue), .integer(contact.id))
                try consent.run()
            }
            if let change = decision.appointmentChange {
                // Guarded on the state the engine saw, so a change is never applied twice.
                let update = try RawStatement(db, "UPDATE appointments SET state = ?, updated_at = ? WHERE id = ? AND state = ?")
                update.bind(.text(change.to.rawValue), .text(stamp), .text(change.appointmentID), .text(change.from.rawValue))
                try update.run()
            }
            var preview = message.body.isEmpty && !message.media.isEmpty ? "[media]" : message.body
            for text in decision.replies {
                let count = SegmentCounter.count(text)
                if render == nil {
                    // Sent by the outbox once this commits, through the business's provider.
                    let queued = try RawStatement(
                        db,
                        """
                        INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, media, segments,
                            encoding, status, in_reply_to, appointment_id, created_at)
                        VALUES (?, 'outbound', 'reply', ?, ?, ?, ?, '[]', ?, ?, 'queued', ?, ?, ?)
                        """)
                    queued.bind(
                        .integer(conversation.id), .text(message.provider), .text(message.to), .text(message.from), .text(text),
                        .integer(count.segments), .text(count.encoding.rawValue), .integer(inboundID), .text(appointmentID), .text(stamp))
                    try queued.run()
                    let entry = try RawStatement(
                        db, "INSERT INTO outbox (message_id, business_id, due_at, attempts, state) VALUES (?, ?, ?, 0, 'pending')")
                    entry.bind(.integer(db.lastInsertedRowID), .text(businessID), .text(stamp))
                    try entry.run()
                    preview = text
                    continue
                }
                let replyRow = try RawStatement(
                    db,
                    """
                    INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, media, segments,
                        encoding, status, in_reply_to, appointment_id, created_at, sent_at)
                    VALUES (?, 'outbound', 'reply', ?, ?, ?, ?, '[]', ?, ?, 'accepted', ?, ?, ?, ?)
                    """)
                replyRow.bind(
                    .integer(conversation.id), .text(message.provider), .text(message.to), .text(message.from), .text(text),
                    .integer(count.segments), .text(count.encoding.rawValue), .integer(inboundID), .text(appointmentID), .text(stamp),
                    .text(stamp))
                try replyRow.run()
                preview = text
            }
            let activity = try RawStatement(
                db,
                """
                UPDATE conversations SET unread_count = unread_count + 1, needs_reply = needs_reply OR ?,
                    staff_flag = COALESCE(?, staff_flag), last_message_at = ?, last_message_preview = ?,
                    last_unrecognized_reply_at = CASE WHEN ? THEN ? ELSE last_unrecognized_reply_at END
                WHERE id = ?
                """)
            activity.bind(
                .bool(decision.needsReply), .text(decision.staffFlag), .text(stamp), .text(String(preview.prefix(160))),
                .bool(decision.isUnrecognizedAcknowledgement), .text(stamp), .integer(conversation.id))
            try activity.run()
            return InboundOutcome(reply: reply, isDuplicate: false, decision: decision, messageID: inboundID)
        }
    }

    /// The contact's id, name and consent, created opted in on first contact.
    static func contactState(_ db: Database, businessID: String, phone: String, stamp: String) throws -> (
        id: Int64, name: String?, consent: ConsentState
    ) {
        let select = try RawStatement(db, "SELECT id, name, consent FROM contacts WHERE business_id = ? AND phone = ?")
        select.bind(.text(businessID), .text(phone))
        if try select.step() {
            guard let consent = select.text(2).flatMap(ConsentState.init(rawValue:)) else {
                throw StoredValueError("contact \(select.integer(0)) has consent `\(select.text(2) ?? "NULL")`")
            }
            return (select.integer(0), select.text(1), consent)
        }
        let insert = try RawStatement(db, "INSERT INTO contacts (business_id, phone, consent, created_at) VALUES (?, ?, 'opted_in', ?)")
        insert.bind(.text(businessID), .text(phone), .text(stamp))
        try insert.run()
        return (db.lastInsertedRowID, nil, .optedIn)
    }

    /// The conversation's id and last acknowledgement, created on first contact.
    static func conversationState(_ db: Database, businessID: String, contactID: Int64, stamp: String) throws -> (
        id: Int64, lastUnrecognizedReplyAt: Date?
    ) {
        let select = try RawStatement(db, "SELECT id, last_unrecognized_reply_at FROM conversations WHERE contact_id = ?")
        select.bind(.integer(contactID))
        if try select.step() { return (select.integer(0), try select.date(1)) }
        let insert = try RawStatement(db, "INSERT INTO conversations (business_id, contact_id, last_message_at) VALUES (?, ?, ?)")
        insert.bind(.text(businessID), .integer(contactID), .text(stamp))
        try insert.run()
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
