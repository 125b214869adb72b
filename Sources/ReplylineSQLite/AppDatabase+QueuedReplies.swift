import Foundation
import GRDB
import ReplylineStore

extension AppDatabase {
    /// Whether the reply `messageID`, queued for a provider that replies through the
    /// outbox, was decided under the consent its contact still has: no consent change came
    /// after the text it answers, other than the one that text made. The engine chose such
    /// a reply knowing that consent (the STOP confirmation, the answer to HELP), so an
    /// opt-out does not hold it back; a change since (say STOP before it went out) does.
    /// A change in the same millisecond as the text counts as later.
    static func replyDecidedUnderCurrentConsent(_ db: Database, replyID messageID: MessageID) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT NOT EXISTS (
                    SELECT 1 FROM consent_events AS events
                    WHERE events.contact_id = conversations.contact_id AND events.created_at >= inbound.created_at
                        AND events.message_id IS NOT inbound.provider_message_id)
                FROM messages AS reply
                JOIN messages AS inbound ON inbound.id = reply.in_reply_to
                JOIN conversations ON conversations.id = reply.conversation_id
                WHERE reply.id = ? AND reply.kind = 'reply'
                """, arguments: [messageID]) ?? false
    }
}
