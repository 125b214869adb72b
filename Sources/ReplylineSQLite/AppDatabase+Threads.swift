import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension AppDatabase {
    /// The thread of `phone` with `businessID`, or nil when they never exchanged a message.
    public func thread(businessID: String, phone: String) async throws -> ConversationThread? {
        try await read { db in
            guard
                let contact = try StoredContact.filter(sql: "business_id = ? AND phone = ?", arguments: [businessID, phone]).fetchOne(db),
                let conversation = try StoredConversation.filter(sql: "contact_id = ?", arguments: [contact.id!]).fetchOne(db)
            else { return nil }
            let messages = try StoredMessage.filter(sql: "conversation_id = ?", arguments: [conversation.id!]).order(sql: "id").fetchAll(db)
            return ConversationThread(contact: contact, conversation: conversation, messages: messages)
        }
    }

    /// The consent ledger of `phone` with `businessID`, oldest first.
    public func consentEvents(businessID: String, phone: String) async throws -> [StoredConsentEvent] {
        try await read { db in
            try StoredConsentEvent.filter(sql: "business_id = ? AND phone = ?", arguments: [businessID, phone]).order(sql: "id").fetchAll(
                db)
        }
    }

    /// Row counts per table, for tests and checks that bad input changed nothing.
    public func tableCounts() async throws -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for table in ["contacts", "conversations", "messages", "appointments", "consent_events", "outbox", "calls", "call_sms"] {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }
}
