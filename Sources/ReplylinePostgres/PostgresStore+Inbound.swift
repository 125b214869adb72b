import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

extension PostgresStore {
    /// Applies the message with the others waiting on this instance, in one transaction
    /// (`InboundCommitter`), and returns once that has committed.
    public func recordInbound(
        _ message: InboundMessage, businessID: String, now: Date, decide: @escaping @Sendable (ContactSnapshot) -> Decision,
        render: (@Sendable (Decision) -> String)?
    ) async throws -> InboundOutcome {
        try await inbound.submit(message, businessID: businessID, now: now, decide: decide, render: render, store: self)
    }

    /// Applies the message in a transaction of its own: a lock, one read and one write.
    func recordInboundAlone(
        _ message: InboundMessage, businessID: String, now: Date, decide: @escaping @Sendable (ContactSnapshot) -> Decision,
        render: (@Sendable (Decision) -> String)?
    ) async throws -> InboundOutcome {
        try await write(notifying: { connection in
            // One contact's messages apply one after the other on every instance; a retry
            // of this very message (same sender) waits here, then finds it below.
            try await Self.lockContact(connection, businessID: businessID, phone: message.from)
            let rows = try await connection.rows(
                InboundReadStatement(
                    provider: message.provider, providerMessageID: message.providerMessageID, businessID: businessID,
                    phone: message.from, now: now))
            guard let first = rows.first else { throw StoredValueError("reading the thread of \(message.from) returned nothing") }
            if let existing = try first.get(0, as: Int64?.self) {
                let reply = try first.get(1, as: String?.self) ?? ""
                return (InboundOutcome(reply: reply, isDuplicate: true, messageID: MessageID(existing)), [])
            }
            let state: ThreadState
            var appointments: [Appointment] = []
            if let contactID = try first.get(2, as: Int64?.self), let conversationID = try first.get(5, as: Int64?.self) {
                state = ThreadState(
                    contactID: contactID, name: try first.get(3), consent: try first.named(4), conversationID: conversationID,
                    lastUnrecognizedReplyAt: try first.get(6))
                for row in rows where try row.get(7, as: String?.self) != nil {
                    appointments.append(try Self.appointment(row, from: 7))
                }
            } else {
                // First contact: created here, with no appointments yet unless the API made
                // the contact without its conversation.
                state = try await Self.threadState(connection, businessID: businessID, phone: message.from, now: now)
                appointments = try await Self.upcomingAppointments(connection, contactID: state.contactID, now: now)
            }
            let decision = decide(
                ContactSnapshot(
                    consent: state.consent, customerName: state.name, upcomingAppointments: appointments,
                    lastUnrecognizedReplyAt: state.lastUnrecognizedReplyAt))
            let reply = render?(decision)
            let written = try await connection.rows(
                InboundWriteStatement(message: message, businessID: businessID, state: state, decision: decision, reply: reply, now: now))
            guard let inboundID = written.first else {
                throw StoredValueError("the inbound message \(message.providerMessageID) was not stored")
            }
            let outcome = InboundOutcome(reply: reply ?? "", isDuplicate: false, decision: decision, messageID: MessageID(inboundID))
            return (outcome, InboxEvent.inbound(businessID: businessID, phone: message.from, decision: decision))
        })
    }

    /// The contact's appointments that start after `now`, soonest first.
    static func upcomingAppointments(_ connection: PostgresConnection, contactID: Int64, now: Date) async throws -> [Appointment] {
        try await connection.rows(
            """
            SELECT id, customer_name, service, starts_at, amount_cents, state FROM appointments
            WHERE contact_id = \(contactID) AND starts_at > \(now) ORDER BY starts_at
            """
        ).map { try appointment($0, from: 0) }
    }

    /// The appointment in the six columns from `column` on: id, customer name, service,
    /// start, amount and state.
    static func appointment(_ row: PostgresRandomAccessRow, from column: Int) throws -> Appointment {
        Appointment(
            id: try row.get(column), customerName: try row.get(column + 1), service: try row.get(column + 2),
            startsAt: try row.get(column + 3), amountCents: try row.get(column + 4), state: try row.named(column + 5))
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
