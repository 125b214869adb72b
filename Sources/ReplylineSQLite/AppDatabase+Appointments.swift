import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension AppDatabase {
    /// Creates an appointment and, unless the contact opted out, queues its confirmation
    /// request in the outbox and moves it to `awaiting_reply`; its reminders are scheduled
    /// either way (the worker checks consent when each is due). One transaction.
    public func createAppointment(
        _ new: NewAppointment, businessID: String, provider: String, fromNumber: String, now: Date,
        compose: @escaping @Sendable (Appointment) -> AppointmentMessages
    ) async throws -> CreatedAppointment {
        let events = [InboxEvent(businessID: businessID, kind: .message, phone: new.phone)]
        return try await write(publishing: { db in
            var contact = try Self.contact(db, businessID: businessID, phone: new.phone, now: now)
            if let name = new.customerName, contact.name != name {
                contact.name = name
                try contact.update(db, columns: ["name"])
            }
            _ = try Self.conversation(db, contact: contact, now: now)
            var appointment = StoredAppointment(
                id: new.id, businessId: businessID, contactId: contact.id!, customerName: new.customerName,
                service: new.service, startsAt: new.startsAt, amountCents: new.amountCents,
                state: contact.consent == .optedOut ? .scheduled : .awaitingReply, createdAt: now, updatedAt: now)
            try appointment.insert(db)
            let texts = compose(appointment.engineValue)
            try Self.scheduleReminders(
                db, appointment: appointment, contact: contact, provider: provider, fromNumber: fromNumber, now: now, texts: texts)
            guard contact.consent == .optedIn else {
                return (CreatedAppointment(appointment: appointment, confirmationMessageID: nil), events)
            }

            let messageID = try Self.queueConfirmation(
                db, appointment: appointment, contact: contact, provider: provider, fromNumber: fromNumber, now: now,
                text: texts.confirmationRequest)
            return (CreatedAppointment(appointment: appointment, confirmationMessageID: messageID), events)
        })
    }

    /// The appointment with `id`, only if it belongs to `businessID`.
    public func appointment(id: String, businessID: String) async throws -> (StoredAppointment, phone: String)? {
        try await read { db in
            guard
                let appointment = try StoredAppointment.filter(sql: "id = ? AND business_id = ?", arguments: [id, businessID]).fetchOne(db),
                let contact = try StoredContact.fetchOne(db, key: appointment.contactId)
            else { return nil }
            return (appointment, contact.phone)
        }
    }
}

extension AppDatabase {
    /// Applies `update` in one transaction. A new `startsAt` on an open appointment is a
    /// reschedule: pending messages about the old time are cancelled and a new
    /// confirmation request is queued (unless the contact opted out). Moving to a final
    /// state cancels the appointment's pending messages.
    public func updateAppointment(
        id: String, businessID: String, update: AppointmentUpdate, provider: String, fromNumber: String, now: Date,
        compose: @escaping @Sendable (Appointment) -> AppointmentMessages
    ) async throws -> (appointment: StoredAppointment, phone: String, confirmationMessageID: MessageID?) {
        try await write(publishing: { db in
            guard
                var appointment = try StoredAppointment.filter(sql: "id = ? AND business_id = ?", arguments: [id, businessID]).fetchOne(db),
                let contact = try StoredContact.fetchOne(db, key: appointment.contactId)
            else { throw AppointmentUpdateError.notFound }
            let original = appointment
            let (nameChanged, rescheduled) = try appointment.apply(update)
            if nameChanged {
                var contact = contact
                contact.name = appointment.customerName
                try contact.update(db, columns: ["name"])
            }
            var confirmationID: MessageID?
            if rescheduled {
                try Self.cancelPendingMessages(db, appointmentID: id)
                let texts = compose(appointment.engineValue)
                try Self.scheduleReminders(
                    db, appointment: appointment, contact: contact, provider: provider, fromNumber: fromNumber, now: now, texts: texts)
                if contact.consent == .optedIn {
                    appointment.state = .awaitingReply
                    confirmationID = try Self.queueConfirmation(
                        db, appointment: appointment, contact: contact, provider: provider, fromNumber: fromNumber, now: now,
                        text: texts.confirmationRequest)
                }
            }
            if !appointment.state.isOpen { try Self.cancelPendingMessages(db, appointmentID: id) }
            if appointment != original {
                appointment.updatedAt = now
                try appointment.update(db)
            }
            let events = [InboxEvent(businessID: businessID, kind: .message, phone: contact.phone)]
            return ((appointment, contact.phone, confirmationID), events)
        })
    }

    static func cancelPendingMessages(_ db: Database, appointmentID: String) throws {
        try db.execute(sql: cancelPendingMessages, arguments: [appointmentID, appointmentID])
    }

    /// Finds the appointment's messages through messages_by_appointment, which holds the
    /// outbound ones other than replies (the only ones ever queued), so its terms are
    /// spelled out here: SQLite uses a partial index only for a query that names them.
    static let cancelPendingMessages = """
        UPDATE messages SET status = 'cancelled'
        WHERE id IN (SELECT message_id FROM outbox WHERE state = 'pending')
            AND appointment_id = ? AND direction = 'outbound' AND kind <> 'reply';
        UPDATE outbox SET state = 'cancelled'
        WHERE state = 'pending' AND message_id IN (
            SELECT id FROM messages WHERE appointment_id = ? AND direction = 'outbound' AND kind <> 'reply' AND status = 'cancelled');
        """

    static func scheduleReminders(
        _ db: Database, appointment: StoredAppointment, contact: StoredContact, provider: String, fromNumber: String, now: Date,
        texts: AppointmentMessages
    ) throws {
        let conversation = try conversation(db, contact: contact, now: now)
        for (time, body) in texts.reminders {
            let count = SegmentCounter.count(body)
            var message = StoredMessage(
                id: nil, conversationId: conversation.id!, direction: .outbound, kind: .reminder, provider: provider,
                providerMessageId: nil,
                fromNumber: fromNumber, toNumber: contact.phone, body: body, media: [], segments: count.segments,
                encoding: count.encoding, status: .scheduled, errorCode: nil, errorMessage: nil, intent: nil, parameters: nil,
                webhookReply: nil,
                inReplyTo: nil, appointmentId: appointment.id, createdAt: now)
            try message.insert(db)
            var entry = OutboxEntry(
                id: nil, messageId: message.id!, businessId: appointment.businessId, dueAt: time, attempts: 0, lastError: nil,
                state: .pending, appointmentStartsAt: appointment.startsAt)
            try entry.insert(db)
        }
    }

    static func queueConfirmation(
        _ db: Database, appointment: StoredAppointment, contact: StoredContact, provider: String, fromNumber: String, now: Date,
        text: String
    ) throws -> MessageID {
        var conversation = try conversation(db, contact: contact, now: now)
        let count = SegmentCounter.count(text)
        var message = StoredMessage(
            id: nil, conversationId: conversation.id!, direction: .outbound, kind: .confirmationRequest,
            provider: provider, providerMessageId: nil, fromNumber: fromNumber, toNumber: contact.phone, body: text,
            media: [], segments: count.segments, encoding: count.encoding, status: .queued, errorCode: nil, errorMessage: nil,
            intent: nil,
            parameters: nil, webhookReply: nil, inReplyTo: nil, appointmentId: appointment.id, createdAt: now)
        try message.insert(db)
        var entry = OutboxEntry(
            id: nil, messageId: message.id!, businessId: appointment.businessId, dueAt: now, attempts: 0, lastError: nil, state: .pending,
            appointmentStartsAt: appointment.startsAt)
        try entry.insert(db)
        conversation.lastMessageAt = now
        conversation.lastMessagePreview = String(text.prefix(160))
        try conversation.update(db)
        return message.id!
    }
}
