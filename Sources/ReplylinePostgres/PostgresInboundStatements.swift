import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore

// The statements of a message applied alone (`recordInboundAlone`: a batch's fallback),
// prepared once per connection: parsing and planning an unnamed statement cost PostgreSQL
// more than running it (pg_stat_statements under `scripts/loadtest --postgres
// --postgres-profile`). With BEGIN and COMMIT that is five round trips a message; the
// batch forms are in PostgresInboundBatch.swift.

/// Takes the transaction-scoped advisory lock of one business's contact.
struct LockContactStatement: PostgresPreparedStatement {
    static let name = "replyline_lock_contact"
    static let sql = "SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))"
    typealias Row = ()

    var businessID: String
    var phone: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(businessID)
        bindings.append(phone)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// What applying an inbound message reads, once its contact is locked: the message if it
/// is already stored, the contact and its conversation, and one row per upcoming
/// appointment (one row with empty appointment columns when there is none).
struct InboundReadStatement: PostgresPreparedStatement {
    static let name = "replyline_inbound_read"
    static let sql = """
        SELECT stored.id, stored.webhook_reply, contacts.id, contacts.name, contacts.consent, conversations.id,
            conversations.last_unrecognized_reply_at, appointments.id, appointments.customer_name, appointments.service,
            appointments.starts_at, appointments.amount_cents, appointments.state
        FROM (VALUES (1)) AS one (x)
        LEFT JOIN messages AS stored ON stored.provider = $1 AND stored.provider_message_id = $2
        LEFT JOIN contacts ON contacts.business_id = $3 AND contacts.phone = $4
        LEFT JOIN conversations ON conversations.contact_id = contacts.id
        LEFT JOIN appointments ON appointments.contact_id = contacts.id AND appointments.starts_at > $5
        ORDER BY appointments.starts_at
        """
    typealias Row = PostgresRandomAccessRow

    var provider: String
    var providerMessageID: String
    var businessID: String
    var phone: String
    var now: Date

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(provider)
        bindings.append(providerMessageID)
        bindings.append(businessID)
        bindings.append(phone)
        bindings.append(now)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { row.makeRandomAccess() }
}

/// Everything applying an inbound message writes, in one statement: the message, a consent
/// change with its ledger entry, an appointment change (guarded on the state the engine
/// saw, so it is never applied twice), the replies (queued in the outbox when they go out
/// through the provider's API), and the conversation's summary. Returns the message's id.
struct InboundWriteStatement: PostgresPreparedStatement {
    static let name = "replyline_inbound_write"
    static let sql = """
        WITH inbound AS (
            INSERT INTO messages (conversation_id, direction, kind, provider, provider_message_id, from_number, to_number, body,
                media, segments, encoding, status, intent, parameters, webhook_reply, appointment_id, created_at)
            VALUES ($1, 'inbound', 'inbound', $2, $3, $4, $5, $6, $7, $8, $9, 'received', $10, $11, $12, $13::text, $14)
            RETURNING id
        ), consent AS (
            INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, message_id, created_at)
            SELECT $15, $16, $4, $17, $18::text, $19::text, $3, $14 WHERE $18 IS NOT NULL
        ), contact AS (
            UPDATE contacts SET consent = $18::text WHERE $18 IS NOT NULL AND id = $16
        ), appointment AS (
            UPDATE appointments SET state = $20::text, updated_at = $14 WHERE id = $13 AND state = $21::text
        ), reply AS (
            INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, segments, encoding,
                status, in_reply_to, appointment_id, created_at, sent_at)
            SELECT $1, 'outbound', 'reply', $2, $5, $4, text.body, text.segments, text.encoding, $25, inbound.id, $13, $14, $26::timestamptz
            FROM inbound, unnest($22::text[], $23::bigint[], $24::text[]) WITH ORDINALITY AS text (body, segments, encoding, position)
            ORDER BY text.position
            RETURNING id
        ), queued AS (
            INSERT INTO outbox (message_id, business_id, due_at, attempts, state)
            SELECT id, $15, $14, 0, 'pending' FROM reply WHERE $27
        ), conversation AS (
            UPDATE conversations SET unread_count = unread_count + 1, needs_reply = needs_reply OR $28,
                staff_flag = COALESCE($29::text, staff_flag), last_message_at = $14, last_message_preview = $30,
                last_unrecognized_reply_at = COALESCE($31::timestamptz, last_unrecognized_reply_at)
            WHERE id = $1
        )
        SELECT id FROM inbound
        """
    typealias Row = Int64

    var message: InboundMessage
    var businessID: String
    var state: PostgresStore.ThreadState
    var decision: Decision
    /// The webhook's inline answer; nil when replies go out through the outbox.
    var reply: String?
    var now: Date

    func makeBindings() throws -> PostgresBindings {
        let count = SegmentCounter.count(message.body)
        let consent = decision.consentChange.flatMap { $0.to == state.consent ? nil : $0 }
        let appointment = decision.appointmentChange
        let replies = decision.replies.map { ($0, SegmentCounter.count($0)) }
        var preview = message.body.isEmpty && !message.media.isEmpty ? "[media]" : message.body
        if let last = decision.replies.last { preview = last }
        let queued = reply == nil

        var bindings = PostgresBindings(capacity: 31)
        bindings.append(state.conversationID)  // $1
        bindings.append(message.provider)
        bindings.append(message.providerMessageID)
        bindings.append(message.from)
        bindings.append(message.to)  // $5
        bindings.append(message.body)
        bindings.append(StoredMessage.encodeMedia(message.media))
        bindings.append(Int64(count.segments))
        bindings.append(count.encoding.rawValue)
        bindings.append(decision.intent.description)  // $10
        bindings.append(StoredMessage.encodeParameters(message.parameters))
        bindings.append(reply ?? "")
        bindings.append(appointment?.appointmentID)
        bindings.append(now)
        bindings.append(businessID)  // $15
        bindings.append(state.contactID)
        bindings.append(state.consent.rawValue)
        bindings.append(consent?.to.rawValue)
        bindings.append(consent?.source.rawValue)
        bindings.append(appointment?.to.rawValue)  // $20
        bindings.append(appointment?.from.rawValue)
        bindings.append(replies.map(\.0))
        bindings.append(replies.map { Int64($0.1.segments) })
        bindings.append(replies.map(\.1.encoding.rawValue))
        bindings.append(queued ? "queued" : "accepted")  // $25
        bindings.append(queued ? nil : now)
        bindings.append(queued)
        bindings.append(decision.needsReply)
        bindings.append(decision.staffFlag)
        bindings.append(String(preview.prefix(160)))  // $30
        bindings.append(decision.isUnrecognizedAcknowledgement ? now : nil)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}
