import Foundation
import GRDB
import ReplylineCore

/// A new appointment as the API receives it, already validated.
public struct NewAppointment: Sendable {
    public var id: String
    public var phone: String
    public var customerName: String?
    public var service: String
    public var startsAt: Date
    public var amountCents: Int?

    public init(id: String, phone: String, customerName: String?, service: String, startsAt: Date, amountCents: Int?) {
        self.id = id
        self.phone = phone
        self.customerName = customerName
        self.service = service
        self.startsAt = startsAt
        self.amountCents = amountCents
    }
}

/// An appointment and what happened to its confirmation request.
public struct CreatedAppointment: Sendable {
    public var appointment: StoredAppointment
    /// The queued confirmation request; nil when the contact has opted out.
    public var confirmationMessageID: Int64?
}

extension AppDatabase {
    /// Creates an appointment and, unless the contact opted out, queues its confirmation
    /// request in the outbox and moves it to `awaiting_reply`, all in one transaction.
    public func createAppointment(
        _ new: NewAppointment, businessID: String, provider: String, fromNumber: String, now: Date,
        confirmationText: @escaping @Sendable (Appointment) -> String
    ) async throws -> CreatedAppointment {
        try await write { db in
            var contact = try Self.contact(db, businessID: businessID, phone: new.phone, now: now)
            if let name = new.customerName, contact.name != name {
                contact.name = name
                try contact.update(db, columns: ["name"])
            }
            var conversation = try Self.conversation(db, contact: contact, now: now)
            var appointment = StoredAppointment(
                id: new.id, businessId: businessID, contactId: contact.id!, customerName: new.customerName,
                service: new.service, startsAt: new.startsAt, amountCents: new.amountCents,
                state: contact.consent == .optedOut ? .scheduled : .awaitingReply, createdAt: now, updatedAt: now)
            try appointment.insert(db)
            guard contact.consent == .optedIn else { return CreatedAppointment(appointment: appointment, confirmationMessageID: nil) }

            let text = confirmationText(appointment.engineValue)
            let count = SegmentCounter.count(text)
            var message = StoredMessage(
                id: nil, conversationId: conversation.id!, direction: .outbound, kind: "confirmation_request",
                provider: provider, providerMessageId: nil, fromNumber: fromNumber, toNumber: contact.phone, body: text,
                media: "[]", segments: count.segments, encoding: count.encoding, status: "queued", errorCode: nil, errorMessage: nil,
                intent: nil,
                parameters: nil, webhookReply: nil, inReplyTo: nil, appointmentId: appointment.id, createdAt: now)
            try message.insert(db)
            var entry = OutboxEntry(id: nil, messageId: message.id!, businessId: businessID, dueAt: now, attempts: 0, state: "pending")
            try entry.insert(db)
            conversation.lastMessageAt = now
            conversation.lastMessagePreview = String(text.prefix(160))
            try conversation.update(db)
            return CreatedAppointment(appointment: appointment, confirmationMessageID: message.id)
        }
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
