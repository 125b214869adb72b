import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore
import Synchronization

/// Group commit for inbound messages: the webhooks waiting on this instance are applied
/// together, one transaction and five round trips for the lot (their contacts' locks, one
/// read, one write), where each alone took five. The per-message round trips and
/// PostgreSQL's work per statement were most of a webhook's cost on both sides
/// (docs/performance.md); the SQLite store's group committer does the same for its file.
///
/// A batch holds at most one message per contact, so every message is decided on its
/// contact's state as the message before it left it: a second message from a contact
/// waits for the next batch, and on another instance the contact's lock orders them.
/// Locks are taken in key order, so batches on several instances never deadlock. A batch
/// that fails for a reason other than the database being unavailable is applied again one
/// message at a time, so one bad message fails alone.
final class InboundCommitter: Sendable {
    struct Job: Sendable {
        var message: InboundMessage
        var businessID: String
        var now: Date
        var decide: @Sendable (ContactSnapshot) -> Decision
        var render: (@Sendable (Decision) -> String)?
        var answer: CheckedContinuation<InboundOutcome, any Error>

        var contactKey: String { businessID + " " + message.from }
    }

    /// Batches in flight at once, each on its own connection: while one commits, the next
    /// gathers what arrived meanwhile. Two instances on 2 cores handled about 2,100 webhooks
    /// a second with 4, 2,050 to 2,570 with 2 and 2,700 with 1 (fewer, larger batches); 2
    /// keeps a second batch going while one waits on a contact that another instance holds.
    static let committers = 2
    /// The most messages in one batch.
    static let batchLimit = 64

    private let state = Mutex<(queue: [Job], running: Int, largest: Int)>(([], 0, 0))

    /// The most messages one batch has carried (for tests and diagnostics).
    var largestBatch: Int { state.withLock { $0.largest } }

    func submit(
        _ message: InboundMessage, businessID: String, now: Date, decide: @escaping @Sendable (ContactSnapshot) -> Decision,
        render: (@Sendable (Decision) -> String)?, store: PostgresStore
    ) async throws -> InboundOutcome {
        try await withCheckedThrowingContinuation { answer in
            let job = Job(message: message, businessID: businessID, now: now, decide: decide, render: render, answer: answer)
            let starts = state.withLock { state in
                state.queue.append(job)
                guard state.running < Self.committers else { return false }
                state.running += 1
                return true
            }
            if starts { Task { await self.drain(store) } }
        }
    }

    private func drain(_ store: PostgresStore) async {
        while true {
            let batch = state.withLock { state in
                let batch = Self.take(&state.queue)
                if batch.isEmpty { state.running -= 1 }
                state.largest = max(state.largest, batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            await commit(batch, store: store)
        }
    }

    /// Up to `batchLimit` jobs from the front of `queue`, one per contact; the others keep
    /// their places.
    static func take(_ queue: inout [Job]) -> [Job] {
        var batch: [Job] = []
        var contacts: Set<String> = []
        var kept: [Job] = []
        for job in queue {
            if batch.count < batchLimit, contacts.insert(job.contactKey).inserted {
                batch.append(job)
            } else {
                kept.append(job)
            }
        }
        queue = kept
        return batch
    }

    private func commit(_ batch: [Job], store: PostgresStore) async {
        do {
            let outcomes = try await store.write(notifying: { connection in
                let outcomes = try await Self.apply(batch, on: connection)
                return (outcomes, Self.events(batch, outcomes))
            })
            for (job, outcome) in zip(batch, outcomes) { job.answer.resume(returning: outcome) }
        } catch let error as StoreUnavailable {
            for job in batch { job.answer.resume(throwing: error) }
        } catch {
            // One message the batch could not take (a message id another contact already
            // used, a value PostgreSQL refuses): each alone, so only that one fails.
            for job in batch {
                do {
                    job.answer.resume(
                        returning: try await store.recordInboundAlone(
                            job.message, businessID: job.businessID, now: job.now, decide: job.decide, render: job.render))
                } catch {
                    job.answer.resume(throwing: error)
                }
            }
        }
    }

    /// Applies `batch` in the caller's transaction and returns each job's outcome.
    static func apply(_ batch: [Job], on connection: PostgresConnection) async throws -> [InboundOutcome] {
        _ = try await connection.rows(LockContactsStatement(businessIDs: batch.map(\.businessID), phones: batch.map(\.message.from)))
        var found = Array(repeating: Found(), count: batch.count)
        for row in try await connection.rows(InboundBatchReadStatement(batch: batch)) {
            let index = Int(try row.get(0, as: Int64.self)) - 1
            found[index].read(row)
        }
        var outcomes: [InboundOutcome?] = Array(repeating: nil, count: batch.count)
        var write = InboundBatchWriteStatement()
        for (index, job) in batch.enumerated() {
            let found = found[index]
            if let existing = try found.stored {
                outcomes[index] = InboundOutcome(reply: existing.reply ?? "", isDuplicate: true, messageID: MessageID(existing.id))
                continue
            }
            let state: PostgresStore.ThreadState
            let appointments: [Appointment]
            if let known = try found.state {
                state = known
                appointments = try found.appointments
            } else {
                // First contact: created here, in this transaction.
                state = try await PostgresStore.threadState(connection, businessID: job.businessID, phone: job.message.from, now: job.now)
                appointments = try await PostgresStore.upcomingAppointments(connection, contactID: state.contactID, now: job.now)
            }
            let decision = job.decide(
                ContactSnapshot(
                    consent: state.consent, customerName: state.name, upcomingAppointments: appointments,
                    lastUnrecognizedReplyAt: state.lastUnrecognizedReplyAt))
            let reply = job.render?(decision)
            write.add(job, state: state, decision: decision, reply: reply)
            outcomes[index] = InboundOutcome(reply: reply ?? "", isDuplicate: false, decision: decision, messageID: MessageID(0))
        }
        if !write.isEmpty {
            var ids: [String: Int64] = [:]
            for (id, provider, messageID) in try await connection.rows(write) { ids[provider + " " + messageID] = id }
            for (index, job) in batch.enumerated() where outcomes[index]?.isDuplicate == false {
                guard let id = ids[job.message.provider + " " + job.message.providerMessageID] else {
                    throw StoredValueError("the inbound message \(job.message.providerMessageID) was not stored")
                }
                outcomes[index]?.messageID = MessageID(id)
            }
        }
        return outcomes.map { $0! }
    }

    /// The inbox events of the batch's new messages (one NOTIFY statement for the lot).
    static func events(_ batch: [Job], _ outcomes: [InboundOutcome]) -> [InboxEvent] {
        zip(batch, outcomes).filter { !$1.isDuplicate }.flatMap { job, outcome in
            InboxEvent.inbound(businessID: job.businessID, phone: job.message.from, decision: outcome.decision)
        }
    }

    /// What the batch read found for one job: its stored message, its contact and
    /// conversation, and its upcoming appointments (see `InboundBatchReadStatement`).
    struct Found {
        var rows: [PostgresRandomAccessRow] = []

        mutating func read(_ row: PostgresRandomAccessRow) { rows.append(row) }

        var stored: (id: Int64, reply: String?)? {
            get throws {
                guard let row = rows.first, let id = try row.get(1, as: Int64?.self) else { return nil }
                return (id, try row.get(2))
            }
        }

        var state: PostgresStore.ThreadState? {
            get throws {
                guard let row = rows.first, let contactID = try row.get(3, as: Int64?.self),
                    let conversationID = try row.get(6, as: Int64?.self)
                else { return nil }
                return PostgresStore.ThreadState(
                    contactID: contactID, name: try row.get(4), consent: try row.named(5), conversationID: conversationID,
                    lastUnrecognizedReplyAt: try row.get(7))
            }
        }

        var appointments: [Appointment] {
            get throws {
                try rows.filter { try $0.get(8, as: String?.self) != nil }.map { try PostgresStore.appointment($0, from: 8) }
            }
        }
    }
}

/// Takes the advisory locks of several contacts, in key order (so two batches wanting
/// the same contacts never wait on each other in a cycle); the same keys as
/// `LockContactStatement`.
struct LockContactsStatement: PostgresPreparedStatement {
    static let name = "replyline_lock_contacts"
    static let sql = """
        SELECT pg_advisory_xact_lock(key) FROM (
            SELECT DISTINCT hashtextextended(business || ' ' || phone, 0) AS key
            FROM unnest($1::text[], $2::text[]) AS contact (business, phone)
            ORDER BY key
        ) AS keys
        """
    typealias Row = ()

    var businessIDs: [String]
    var phones: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(businessIDs)
        bindings.append(phones)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// `InboundReadStatement` for every job of a batch, each row led by the job's place in it
/// (1-based).
struct InboundBatchReadStatement: PostgresPreparedStatement {
    static let name = "replyline_inbound_batch_read"
    static let sql = """
        SELECT job.position, stored.id, stored.webhook_reply, contacts.id, contacts.name, contacts.consent, conversations.id,
            conversations.last_unrecognized_reply_at, appointments.id, appointments.customer_name, appointments.service,
            appointments.starts_at, appointments.amount_cents, appointments.state
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
            WITH ORDINALITY AS job (provider, message_id, business, phone, now, position)
        LEFT JOIN messages AS stored ON stored.provider = job.provider AND stored.provider_message_id = job.message_id
        LEFT JOIN contacts ON contacts.business_id = job.business AND contacts.phone = job.phone
        LEFT JOIN conversations ON conversations.contact_id = contacts.id
        LEFT JOIN appointments ON appointments.contact_id = contacts.id AND appointments.starts_at > job.now
        ORDER BY job.position, appointments.starts_at
        """
    typealias Row = PostgresRandomAccessRow

    var batch: [InboundCommitter.Job]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(batch.map(\.message.provider))
        bindings.append(batch.map(\.message.providerMessageID))
        bindings.append(batch.map(\.businessID))
        bindings.append(batch.map(\.message.from))
        bindings.append(batch.map(\.now))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { row.makeRandomAccess() }
}

/// `InboundWriteStatement` for every new message of a batch, column by column: each
/// array holds one value per message (or per consent change, appointment change or
/// reply). Arrays of PostgresNIO cannot hold NULL, so an absent appointment id or staff
/// flag is the empty string, and times that may be absent follow from a flag.
struct InboundBatchWriteStatement: PostgresPreparedStatement {
    static let name = "replyline_inbound_batch_write"
    static let sql = """
        WITH job AS (
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::bool[],
                $16::text[], $17::text[], $18::bool[])
                WITH ORDINALITY AS job (conversation_id, provider, message_id, from_number, to_number, body, media, segments,
                    encoding, intent, parameters, webhook_reply, appointment_id, moment, needs_reply, staff_flag, preview,
                    unrecognized, position)
        ), inbound AS (
            INSERT INTO messages (conversation_id, direction, kind, provider, provider_message_id, from_number, to_number, body,
                media, segments, encoding, status, intent, parameters, webhook_reply, appointment_id, created_at)
            SELECT conversation_id, 'inbound', 'inbound', provider, message_id, from_number, to_number, body, media, segments,
                encoding, 'received', intent, parameters, webhook_reply, NULLIF(appointment_id, ''), moment
            FROM job ORDER BY position
            RETURNING id, provider, provider_message_id, conversation_id, from_number, to_number, appointment_id, created_at
        ), consent AS (
            INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, message_id, created_at)
            SELECT * FROM unnest($19::text[], $20::bigint[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[],
                $26::timestamptz[])
        ), contact AS (
            UPDATE contacts SET consent = change.to_state
            FROM unnest($20::bigint[], $23::text[]) AS change (contact_id, to_state)
            WHERE contacts.id = change.contact_id
        ), appointment AS (
            UPDATE appointments SET state = change.to_state, updated_at = change.moment
            FROM unnest($27::text[], $28::text[], $29::text[], $30::timestamptz[]) AS change (id, to_state, from_state, moment)
            WHERE appointments.id = change.id AND appointments.state = change.from_state
        ), reply AS (
            INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, segments, encoding,
                status, in_reply_to, appointment_id, created_at, sent_at)
            SELECT inbound.conversation_id, 'outbound', 'reply', inbound.provider, inbound.to_number, inbound.from_number,
                text.body, text.segments, text.encoding, CASE WHEN text.queued THEN 'queued' ELSE 'accepted' END, inbound.id,
                inbound.appointment_id, inbound.created_at, CASE WHEN text.queued THEN NULL ELSE inbound.created_at END
            FROM unnest($31::text[], $32::text[], $33::text[], $34::bigint[], $35::text[], $36::bool[])
                WITH ORDINALITY AS text (provider, message_id, body, segments, encoding, queued, position)
            JOIN inbound ON inbound.provider = text.provider AND inbound.provider_message_id = text.message_id
            ORDER BY text.position
            RETURNING id, conversation_id, status, created_at
        ), queued AS (
            INSERT INTO outbox (message_id, business_id, due_at, attempts, state)
            SELECT reply.id, conversations.business_id, reply.created_at, 0, 'pending'
            FROM reply JOIN conversations ON conversations.id = reply.conversation_id
            WHERE reply.status = 'queued'
        ), conversation AS (
            UPDATE conversations SET unread_count = unread_count + 1, needs_reply = conversations.needs_reply OR job.needs_reply,
                staff_flag = COALESCE(NULLIF(job.staff_flag, ''), conversations.staff_flag), last_message_at = job.moment,
                last_message_preview = job.preview,
                last_unrecognized_reply_at = CASE WHEN job.unrecognized THEN job.moment ELSE conversations.last_unrecognized_reply_at END
            FROM job WHERE conversations.id = job.conversation_id
        )
        SELECT id, provider, provider_message_id FROM inbound
        """
    typealias Row = (Int64, String, String)

    // One value per message.
    private var conversationIDs: [Int64] = [], providers: [String] = [], messageIDs: [String] = [], froms: [String] = []
    private var tos: [String] = [], bodies: [String] = [], media: [String] = [], segments: [Int64] = [], encodings: [String] = []
    private var intents: [String] = [], parameters: [String] = [], webhookReplies: [String] = [], appointmentIDs: [String] = []
    private var times: [Date] = [], needsReply: [Bool] = [], staffFlags: [String] = [], previews: [String] = []
    private var unrecognized: [Bool] = []
    // One value per consent change.
    private var consentBusinesses: [String] = [], consentContacts: [Int64] = [], consentPhones: [String] = []
    private var consentFrom: [String] = [], consentTo: [String] = [], consentSources: [String] = []
    private var consentMessages: [String] = [], consentTimes: [Date] = []
    // One value per appointment change.
    private var appointmentChanges: [String] = [], appointmentTo: [String] = [], appointmentFrom: [String] = []
    private var appointmentTimes: [Date] = []
    // One value per reply.
    private var replyProviders: [String] = [], replyMessages: [String] = [], replyBodies: [String] = []
    private var replySegments: [Int64] = [], replyEncodings: [String] = [], replyQueued: [Bool] = []

    var isEmpty: Bool { messageIDs.isEmpty }

    /// Adds a new message, decided as `decision`, with `reply` as its inline answer (nil
    /// when its replies go out through the outbox).
    mutating func add(_ job: InboundCommitter.Job, state: PostgresStore.ThreadState, decision: Decision, reply: String?) {
        let message = job.message
        let count = SegmentCounter.count(message.body)
        var preview = message.body.isEmpty && !message.media.isEmpty ? "[media]" : message.body
        if let last = decision.replies.last { preview = last }
        conversationIDs.append(state.conversationID)
        providers.append(message.provider)
        messageIDs.append(message.providerMessageID)
        froms.append(message.from)
        tos.append(message.to)
        bodies.append(message.body)
        media.append(StoredMessage.encodeMedia(message.media))
        segments.append(Int64(count.segments))
        encodings.append(count.encoding.rawValue)
        intents.append(decision.intent.description)
        parameters.append(StoredMessage.encodeParameters(message.parameters))
        webhookReplies.append(reply ?? "")
        appointmentIDs.append(decision.appointmentChange?.appointmentID ?? "")
        times.append(job.now)
        needsReply.append(decision.needsReply)
        staffFlags.append(decision.staffFlag ?? "")
        previews.append(String(preview.prefix(160)))
        unrecognized.append(decision.isUnrecognizedAcknowledgement)
        if let change = decision.consentChange, change.to != state.consent {
            consentBusinesses.append(job.businessID)
            consentContacts.append(state.contactID)
            consentPhones.append(message.from)
            consentFrom.append(state.consent.rawValue)
            consentTo.append(change.to.rawValue)
            consentSources.append(change.source.rawValue)
            consentMessages.append(message.providerMessageID)
            consentTimes.append(job.now)
        }
        if let change = decision.appointmentChange {
            appointmentChanges.append(change.appointmentID)
            appointmentTo.append(change.to.rawValue)
            appointmentFrom.append(change.from.rawValue)
            appointmentTimes.append(job.now)
        }
        for text in decision.replies {
            let count = SegmentCounter.count(text)
            replyProviders.append(message.provider)
            replyMessages.append(message.providerMessageID)
            replyBodies.append(text)
            replySegments.append(Int64(count.segments))
            replyEncodings.append(count.encoding.rawValue)
            replyQueued.append(reply == nil)
        }
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 36)
        bindings.append(conversationIDs)  // $1
        bindings.append(providers)
        bindings.append(messageIDs)
        bindings.append(froms)
        bindings.append(tos)  // $5
        bindings.append(bodies)
        bindings.append(media)
        bindings.append(segments)
        bindings.append(encodings)
        bindings.append(intents)  // $10
        bindings.append(parameters)
        bindings.append(webhookReplies)
        bindings.append(appointmentIDs)
        bindings.append(times)
        bindings.append(needsReply)  // $15
        bindings.append(staffFlags)
        bindings.append(previews)
        bindings.append(unrecognized)
        bindings.append(consentBusinesses)
        bindings.append(consentContacts)  // $20
        bindings.append(consentPhones)
        bindings.append(consentFrom)
        bindings.append(consentTo)
        bindings.append(consentSources)
        bindings.append(consentMessages)  // $25
        bindings.append(consentTimes)
        bindings.append(appointmentChanges)
        bindings.append(appointmentTo)
        bindings.append(appointmentFrom)
        bindings.append(appointmentTimes)  // $30
        bindings.append(replyProviders)
        bindings.append(replyMessages)
        bindings.append(replyBodies)
        bindings.append(replySegments)
        bindings.append(replyEncodings)  // $35
        bindings.append(replyQueued)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
