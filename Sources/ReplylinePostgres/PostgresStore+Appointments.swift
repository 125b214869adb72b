import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

extension PostgresStore {
    /// Creates an appointment, queues its confirmation request unless the contact opted out,
    /// and schedules its reminders; one transaction, under the contact's lock.
    public func createAppointment(
        _ new: NewAppointment, businessID: String, provider: String, fromNumber: String, now: Date,
        compose: @escaping @Sendable (Appointment) -> AppointmentMessages
    ) async throws -> CreatedAppointment {
        let events = [InboxEvent(businessID: businessID, kind: .message, phone: new.phone)]
        return try await write(notifying: { connection in
            try await Self.lockContact(connection, businessID: businessID, phone: new.phone)
            var (contact, conversationID) = try await Self.contact(connection, businessID: businessID, phone: new.phone, now: now)
            if let name = new.customerName, contact.name != name {
                contact.name = name
                try await connection.run("UPDATE contacts SET name = \(name) WHERE id = \(contact.id!.rawValue)")
            }
            let appointment = StoredAppointment(
                id: new.id, businessId: businessID, contactId: contact.id!, customerName: new.customerName, service: new.service,
                startsAt: new.startsAt, amountCents: new.amountCents, state: contact.consent == .optedOut ? .scheduled : .awaitingReply,
                createdAt: now, updatedAt: now)
            try await Self.insert(connection, appointment)
            let texts = compose(appointment.engineValue)
            let messages = Outgoing(
                connection: connection, appointment: appointment, contact: contact, conversationID: conversationID, provider: provider,
                fromNumber: fromNumber, now: now)
            try await messages.scheduleReminders(texts)
            guard contact.consent == .optedIn else { return (CreatedAppointment(appointment: appointment), events) }
            let messageID = try await messages.queueConfirmation(texts.confirmationRequest)
            return (CreatedAppointment(appointment: appointment, confirmationMessageID: messageID), events)
        })
    }

    static func insert(_ connection: PostgresConnection, _ appointment: StoredAppointment) async throws {
        try await connection.run(
            """
            INSERT INTO appointments (id, business_id, contact_id, customer_name, service, starts_at, amount_cents, state, created_at,
                updated_at)
            VALUES (\(appointment.id), \(appointment.businessId), \(appointment.contactId.rawValue), \(appointment.customerName),
                \(appointment.service), \(appointment.startsAt), \(appointment.amountCents), \(appointment.state.rawValue),
                \(appointment.createdAt), \(appointment.updatedAt))
            """)
    }

    public func appointment(id: String, businessID: String) async throws -> (StoredAppointment, phone: String)? {
        try await read { connection in
            guard
                let row = try await connection.row(
                    """
                    SELECT \(unescaped: StoredAppointment.columns()), contacts.phone
                    FROM appointments JOIN contacts ON contacts.id = appointments.contact_id
                    WHERE appointments.id = \(id) AND appointments.business_id = \(businessID)
                    """)
            else { return nil }
            return (try StoredAppointment(postgres: row), try row.get(10))
        }
    }

    /// Applies `update` in one transaction under the contact's lock (see the SQLite store's
    /// `updateAppointment` for what a new time and a final state do).
    public func updateAppointment(
        id: String, businessID: String, update: AppointmentUpdate, provider: String, fromNumber: String, now: Date,
        compose: @escaping @Sendable (Appointment) -> AppointmentMessages
    ) async throws -> (appointment: StoredAppointment, phone: String, confirmationMessageID: MessageID?) {
        try await write(notifying: { connection in
            guard
                let phone = try await connection.row(
                    """
                    SELECT contacts.phone FROM appointments JOIN contacts ON contacts.id = appointments.contact_id
                    WHERE appointments.id = \(id) AND appointments.business_id = \(businessID)
                    """)?.get(0, as: String.self)
            else { throw AppointmentUpdateError.notFound }
            try await Self.lockContact(connection, businessID: businessID, phone: phone)
            guard
                var appointment = try await connection.row(
                    "SELECT \(unescaped: StoredAppointment.columns()) FROM appointments WHERE id = \(id) FOR UPDATE"
                ).map({ try StoredAppointment(postgres: $0) })
            else { throw AppointmentUpdateError.notFound }
            var (contact, conversationID) = try await Self.contact(connection, businessID: businessID, phone: phone, now: now)
            let original = appointment
            let (nameChanged, rescheduled) = try appointment.apply(update)
            if nameChanged {
                contact.name = appointment.customerName
                try await connection.run("UPDATE contacts SET name = \(contact.name) WHERE id = \(contact.id!.rawValue)")
            }
            var confirmationID: MessageID?
            if rescheduled {
                try await Self.cancelPendingMessages(connection, appointmentID: id)
                let texts = compose(appointment.engineValue)
                let messages = Outgoing(
                    connection: connection, appointment: appointment, contact: contact, conversationID: conversationID,
                    provider: provider, fromNumber: fromNumber, now: now)
                try await messages.scheduleReminders(texts)
                if contact.consent == .optedIn {
                    appointment.state = .awaitingReply
                    confirmationID = try await messages.queueConfirmation(texts.confirmationRequest)
                }
            }
            if !appointment.state.isOpen { try await Self.cancelPendingMessages(connection, appointmentID: id) }
            if appointment != original {
                appointment.updatedAt = now
                try await connection.run(
                    """
                    UPDATE appointments SET customer_name = \(appointment.customerName), service = \(appointment.service),
                        starts_at = \(appointment.startsAt), amount_cents = \(appointment.amountCents), state = \(appointment.state.rawValue),
                        updated_at = \(now)
                    WHERE id = \(id)
                    """)
            }
            let events = [InboxEvent(businessID: businessID, kind: .message, phone: contact.phone)]
            return ((appointment, contact.phone, confirmationID), events)
        })
    }

    /// Cancels the appointment's messages still waiting in the outbox.
    static func cancelPendingMessages(_ connection: PostgresConnection, appointmentID: String) async throws {
        try await connection.run(
            """
            WITH cancelled AS (
                UPDATE outbox SET state = 'cancelled' FROM messages
                WHERE outbox.message_id = messages.id AND outbox.state = 'pending' AND messages.appointment_id = \(appointmentID)
                    AND messages.direction = 'outbound' AND messages.kind <> 'reply'
                RETURNING messages.id)
            UPDATE messages SET status = 'cancelled' FROM cancelled WHERE messages.id = cancelled.id
            """)
    }

    /// The messages an appointment sends, queued in the caller's transaction.
    struct Outgoing {
        let connection: PostgresConnection
        let appointment: StoredAppointment
        let contact: StoredContact
        let conversationID: Int64
        let provider: String
        let fromNumber: String
        let now: Date

        func message(_ kind: MessageKind, _ text: String, status: MessageStatus) -> StoredMessage {
            let count = SegmentCounter.count(text)
            return StoredMessage(
                id: nil, conversationId: ConversationID(conversationID), direction: .outbound, kind: kind, provider: provider,
                providerMessageId: nil, fromNumber: fromNumber, toNumber: contact.phone, body: text, media: [], segments: count.segments,
                encoding: count.encoding, status: status, appointmentId: appointment.id, createdAt: now)
        }

        /// Each reminder with its own text, waiting in the outbox (the worker checks consent when due).
        func scheduleReminders(_ texts: AppointmentMessages) async throws {
            for (time, body) in texts.reminders {
                _ = try await PostgresStore.insert(
                    connection, message(.reminder, body, status: .scheduled), businessID: appointment.businessId, dueAt: time,
                    appointmentStartsAt: appointment.startsAt)
            }
        }

        func queueConfirmation(_ text: String) async throws -> MessageID {
            let id = try await PostgresStore.insert(
                connection, message(.confirmationRequest, text, status: .queued), businessID: appointment.businessId, dueAt: now,
                appointmentStartsAt: appointment.startsAt)
            try await connection.run(
                """
                UPDATE conversations SET last_message_at = \(now), last_message_preview = \(String(text.prefix(160)))
                WHERE id = \(conversationID)
                """)
            return id
        }
    }

    /// Up to `limit` appointments matching `filter`, by start time then id, after `cursor`,
    /// each with its pending messages: one range of appointments_by_business.
    public func appointments(
        businessID: String, filter: AppointmentFilter, limit: Int, after cursor: AppointmentCursor?
    ) async throws -> [ListedAppointment] {
        var query: PostgresQuery = """
            SELECT \(unescaped: StoredAppointment.columns()), contacts.phone
            FROM appointments JOIN contacts ON contacts.id = appointments.contact_id
            WHERE appointments.business_id = \(businessID)
            """
        if !filter.states.isEmpty {
            let states = query.bind(filter.states.map(\.rawValue))
            query.sql += " AND appointments.state = ANY(\(states))"
        }
        if let from = filter.from {
            let from = query.bind(from)
            query.sql += " AND appointments.starts_at >= \(from)"
        }
        if let to = filter.to {
            let to = query.bind(to)
            query.sql += " AND appointments.starts_at < \(to)"
        }
        if let cursor {
            // To the microsecond, as stored (see `conversations`).
            let (startsAt, id) = (query.bind(PostgresTimestamp(cursor.startsAt)), query.bind(cursor.id))
            query.sql += " AND (appointments.starts_at, appointments.id) > (\(startsAt), \(id))"
        }
        let bound = query.bind(limit)
        query.sql += " ORDER BY appointments.starts_at, appointments.id LIMIT \(bound)"
        return try await read { [query] connection in
            let rows = try await connection.rows(query)
            let ids = try rows.map { try $0.get(0, as: String.self) }
            var pending: [String: [PendingAppointmentMessage]] = [:]
            if !ids.isEmpty {
                for row in try await connection.rows(
                    """
                    SELECT messages.appointment_id, messages.id, messages.kind, outbox.due_at, outbox.last_error
                    FROM messages JOIN outbox ON outbox.message_id = messages.id
                    WHERE messages.appointment_id = ANY(\(ids)) AND messages.direction = 'outbound' AND messages.kind <> 'reply'
                        AND outbox.state = 'pending'
                    ORDER BY outbox.due_at, messages.id
                    """)
                {
                    pending[try row.get(0), default: []].append(
                        PendingAppointmentMessage(
                            messageID: MessageID(try row.get(1)), kind: try row.named(2), dueAt: try row.get(3), heldReason: try row.get(4))
                    )
                }
            }
            return try rows.map { row in
                let appointment = try StoredAppointment(postgres: row)
                return ListedAppointment(appointment: appointment, phone: try row.get(10), pendingMessages: pending[appointment.id] ?? [])
            }
        }
    }

    public func appointments(businessID: String, phone: String) async throws -> [StoredAppointment] {
        try await read { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: StoredAppointment.columns()) FROM appointments JOIN contacts ON contacts.id = appointments.contact_id
                WHERE contacts.business_id = \(businessID) AND contacts.phone = \(phone) ORDER BY appointments.starts_at
                """
            ).map({ try StoredAppointment(postgres: $0) })
        }
    }
}
