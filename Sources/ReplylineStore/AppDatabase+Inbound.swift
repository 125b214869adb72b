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
        try await write { db in
            if let existing = try Row.fetchOne(
                db, sql: "SELECT id, webhook_reply FROM messages WHERE provider = ? AND provider_message_id = ?",
                arguments: [message.provider, message.providerMessageID])
            {
                return InboundOutcome(reply: existing["webhook_reply"] ?? "", isDuplicate: true, decision: nil, messageID: existing["id"])
            }
            var contact = try Self.contact(db, businessID: businessID, phone: message.from, now: now)
            var conversation = try Self.conversation(db, contact: contact, now: now)
            let appointments =
                try StoredAppointment
                .filter(sql: "contact_id = ? AND starts_at > ?", arguments: [contact.id!, now])
                .order(sql: "starts_at")
                .fetchAll(db)
            let snapshot = ContactSnapshot(
                consent: contact.consent, customerName: contact.name,
                upcomingAppointments: appointments.map(\.engineValue),
                lastUnrecognizedReplyAt: conversation.lastUnrecognizedReplyAt)
            let decision = decide(snapshot)
            let reply = render(decision)

            let count = SegmentCounter.count(message.body)
            var inbound = StoredMessage(
                id: nil, conversationId: conversation.id!, direction: .inbound, kind: "inbound",
                provider: message.provider, providerMessageId: message.providerMessageID,
                fromNumber: message.from, toNumber: message.to, body: message.body,
                media: StoredMessage.encodeMedia(message.media), segments: count.segments, encoding: count.encoding,
                status: "received", errorCode: nil, errorMessage: nil, intent: decision.intent.description,
                parameters: StoredMessage.encodeParameters(message.parameters), webhookReply: reply,
                inReplyTo: nil, appointmentId: decision.appointmentChange?.appointmentID, createdAt: now)
            try inbound.insert(db)

            if let change = decision.consentChange, change.to != contact.consent {
                var event = StoredConsentEvent(
                    id: nil, businessId: businessID, contactId: contact.id!, phone: contact.phone,
                    fromState: contact.consent, toState: change.to, source: change.source,
                    messageId: message.providerMessageID, createdAt: now)
                try event.insert(db)
                contact.consent = change.to
                try contact.update(db, columns: ["consent"])
            }
            if let change = decision.appointmentChange {
                // Guarded on the state the engine saw, so a change is never applied twice.
                try db.execute(
                    sql: "UPDATE appointments SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
                    arguments: [change.to, now, change.appointmentID, change.from])
            }
            var preview = message.body.isEmpty && !message.media.isEmpty ? "[media]" : message.body
            for text in decision.replies {
                let count = SegmentCounter.count(text)
                var outbound = StoredMessage(
                    id: nil, conversationId: conversation.id!, direction: .outbound, kind: "reply",
                    provider: message.provider, providerMessageId: nil, fromNumber: message.to, toNumber: message.from,
                    body: text, media: "[]", segments: count.segments, encoding: count.encoding, status: "accepted",
                    errorCode: nil, errorMessage: nil, intent: nil, parameters: nil, webhookReply: nil, inReplyTo: inbound.id,
                    appointmentId: decision.appointmentChange?.appointmentID, createdAt: now, sentAt: now)
                try outbound.insert(db)
                preview = text
            }
            conversation.unreadCount += 1
            conversation.needsReply = conversation.needsReply || decision.needsReply
            if let flag = decision.staffFlag { conversation.staffFlag = flag }
            conversation.lastMessageAt = now
            conversation.lastMessagePreview = String(preview.prefix(160))
            if decision.isUnrecognizedAcknowledgement { conversation.lastUnrecognizedReplyAt = now }
            try conversation.update(db)
            return InboundOutcome(reply: reply, isDuplicate: false, decision: decision, messageID: inbound.id!)
        }
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
