import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

extension PostgresStore {
    public func recordInbound(
        _ message: InboundMessage, businessID: String, now: Date, decide: @escaping @Sendable (ContactSnapshot) -> Decision,
        render: (@Sendable (Decision) -> String)?
    ) async throws -> InboundOutcome {
        let count = SegmentCounter.count(message.body)
        let media = StoredMessage.encodeMedia(message.media)
        let parameters = StoredMessage.encodeParameters(message.parameters)
        return try await write { connection in
            // One contact's messages apply one after the other on every instance; a retry
            // of this very message (same sender) waits here, then finds it below.
            try await Self.lockContact(connection, businessID: businessID, phone: message.from)
            if let existing = try await connection.row(
                """
                SELECT id, webhook_reply FROM messages WHERE provider = \(message.provider)
                AND provider_message_id = \(message.providerMessageID)
                """)
            {
                return InboundOutcome(
                    reply: try existing.get(1, as: String?.self) ?? "", isDuplicate: true, messageID: MessageID(try existing.get(0)))
            }
            let state = try await Self.threadState(connection, businessID: businessID, phone: message.from, now: now)
            var appointments: [Appointment] = []
            for row in try await connection.rows(
                """
                SELECT id, customer_name, service, starts_at, amount_cents, state FROM appointments
                WHERE contact_id = \(state.contactID) AND starts_at > \(now) ORDER BY starts_at
                """)
            {
                appointments.append(
                    Appointment(
                        id: try row.get(0), customerName: try row.get(1), service: try row.get(2), startsAt: try row.get(3),
                        amountCents: try row.get(4), state: try row.named(5)))
            }
            let decision = decide(
                ContactSnapshot(
                    consent: state.consent, customerName: state.name, upcomingAppointments: appointments,
                    lastUnrecognizedReplyAt: state.lastUnrecognizedReplyAt))
            let reply = render?(decision) ?? ""
            let appointmentID = decision.appointmentChange?.appointmentID
            guard
                let inbound = try await connection.row(
                    """
                    INSERT INTO messages (conversation_id, direction, kind, provider, provider_message_id, from_number, to_number, body,
                        media, segments, encoding, status, intent, parameters, webhook_reply, appointment_id, created_at)
                    VALUES (\(state.conversationID), 'inbound', 'inbound', \(message.provider), \(message.providerMessageID),
                        \(message.from), \(message.to), \(message.body), \(media), \(count.segments), \(count.encoding.rawValue),
                        'received', \(decision.intent.description), \(parameters), \(reply), \(appointmentID), \(now))
                    RETURNING id
                    """)
            else { throw StoredValueError("the inbound message \(message.providerMessageID) was not stored") }
            let inboundID: Int64 = try inbound.get(0)

            if let change = decision.consentChange, change.to != state.consent {
                try await connection.run(
                    """
                    INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, message_id, created_at)
                    VALUES (\(businessID), \(state.contactID), \(message.from), \(state.consent.rawValue), \(change.to.rawValue),
                        \(change.source.rawValue), \(message.providerMessageID), \(now))
                    """)
                try await connection.run("UPDATE contacts SET consent = \(change.to.rawValue) WHERE id = \(state.contactID)")
            }
            if let change = decision.appointmentChange {
                // Guarded on the state the engine saw, so a change is never applied twice.
                try await connection.run(
                    """
                    UPDATE appointments SET state = \(change.to.rawValue), updated_at = \(now)
                    WHERE id = \(change.appointmentID) AND state = \(change.from.rawValue)
                    """)
            }
            var preview = message.body.isEmpty && !message.media.isEmpty ? "[media]" : message.body
            for text in decision.replies {
                let count = SegmentCounter.count(text)
                preview = text
                if render == nil {
                    // Sent by the outbox once this commits, through the business's provider.
                    try await connection.run(
                        """
                        WITH reply AS (
                            INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, segments,
                                encoding, status, in_reply_to, appointment_id, created_at)
                            VALUES (\(state.conversationID), 'outbound', 'reply', \(message.provider), \(message.to), \(message.from),
                                \(text), \(count.segments), \(count.encoding.rawValue), 'queued', \(inboundID), \(appointmentID), \(now))
                            RETURNING id)
                        INSERT INTO outbox (message_id, business_id, due_at, attempts, state)
                        SELECT id, \(businessID), \(now), 0, 'pending' FROM reply
                        """)
                    continue
                }
                try await connection.run(
                    """
                    INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, segments,
                        encoding, status, in_reply_to, appointment_id, created_at, sent_at)
                    VALUES (\(state.conversationID), 'outbound', 'reply', \(message.provider), \(message.to), \(message.from), \(text),
                        \(count.segments), \(count.encoding.rawValue), 'accepted', \(inboundID), \(appointmentID), \(now), \(now))
                    """)
            }
            let unrecognizedAt: Date? = decision.isUnrecognizedAcknowledgement ? now : nil
            try await connection.run(
                """
                UPDATE conversations SET unread_count = unread_count + 1, needs_reply = needs_reply OR \(decision.needsReply),
                    staff_flag = COALESCE(\(decision.staffFlag), staff_flag), last_message_at = \(now),
                    last_message_preview = \(String(preview.prefix(160))),
                    last_unrecognized_reply_at = COALESCE(\(unrecognizedAt), last_unrecognized_reply_at)
                WHERE id = \(state.conversationID)
                """)
            return InboundOutcome(reply: reply, isDuplicate: false, decision: decision, messageID: MessageID(inboundID))
        }
    }

    struct ThreadState {
        var contactID: Int64
        var name: String?
        var consent: ConsentState
        var conversationID: Int64
        var lastUnrecognizedReplyAt: Date?
    }

    /// The contact and its conversation, both created on first contact (insert-or-get: of
    /// two writers creating the same contact, one inserts and both read the one row).
    static func threadState(_ connection: PostgresConnection, businessID: String, phone: String, now: Date) async throws -> ThreadState {
        for _ in 0..<3 {
            guard
                let row = try await connection.row(
                    """
                    SELECT contacts.id, contacts.name, contacts.consent, conversations.id, conversations.last_unrecognized_reply_at
                    FROM contacts LEFT JOIN conversations ON conversations.contact_id = contacts.id
                    WHERE contacts.business_id = \(businessID) AND contacts.phone = \(phone)
                    """)
            else {
                try await connection.run(
                    """
                    INSERT INTO contacts (business_id, phone, consent, created_at) VALUES (\(businessID), \(phone), 'opted_in', \(now))
                    ON CONFLICT (business_id, phone) DO NOTHING
                    """)
                continue
            }
            let contactID: Int64 = try row.get(0)
            guard let conversationID = try row.get(3, as: Int64?.self) else {
                try await connection.run(
                    """
                    INSERT INTO conversations (business_id, contact_id, last_message_at) VALUES (\(businessID), \(contactID), \(now))
                    ON CONFLICT (contact_id) DO NOTHING
                    """)
                continue
            }
            return ThreadState(
                contactID: contactID, name: try row.get(1), consent: try row.named(2), conversationID: conversationID,
                lastUnrecognizedReplyAt: try row.get(4))
        }
        throw StoredValueError("the contact \(phone) of \(businessID) and its conversation could not be created")
    }

    /// The contact, created opted in on first contact, with its conversation.
    static func contact(_ connection: PostgresConnection, businessID: String, phone: String, now: Date) async throws -> (
        StoredContact, conversationID: Int64
    ) {
        let state = try await threadState(connection, businessID: businessID, phone: phone, now: now)
        guard
            let row = try await connection.row("SELECT \(unescaped: StoredContact.columns()) FROM contacts WHERE id = \(state.contactID)")
        else { throw StoredValueError("contact \(state.contactID) vanished") }
        return (try StoredContact(postgres: row), state.conversationID)
    }
}
