import Foundation
import Hummingbird
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// The inbox: conversations, threads, manual sends, read marks, and the consent ledger.
struct InboxController {
    let store: any ConversationStore
    let outbound: OutboundService
    let now: @Sendable () -> Date

    func addRoutes(to group: RouterGroup<APIContext>) {
        group.get("conversations", use: list)
        group.get("conversations/{phone}", use: show)
        group.get("conversations/{phone}/messages", use: messages)
        group.post("conversations/{phone}/messages", use: send)
        group.post("conversations/{phone}/read", use: read)
        group.get("contacts/{phone}/consent", use: consent)
    }

    struct ConversationJSON: Encodable {
        var phone: String
        var name: String?
        var consent: String
        var unread_count: Int
        var needs_reply: Bool
        var staff_flag: String?
        var last_message_at: Date
        var last_message_preview: String

        init(_ summary: ConversationSummary) {
            phone = summary.phone
            name = summary.name
            consent = summary.consent.rawValue
            unread_count = summary.unreadCount
            needs_reply = summary.needsReply
            staff_flag = summary.staffFlag
            last_message_at = summary.lastMessageAt
            last_message_preview = summary.lastMessagePreview
        }
    }

    struct ConversationPage: Encodable {
        var conversations: [ConversationJSON]
        var next_cursor: String?
    }

    struct ConversationDetail: Encodable {
        var conversation: ConversationJSON
        var appointments: [AppointmentsController.AppointmentJSON]
    }

    struct StatusJSON: Encodable {
        var status: MessageStatus
        var error_code: String?
        var error_message: String?
        var at: Date
    }

    struct MediaJSON: Encodable {
        var url: String
        var content_type: String?
    }

    /// openapi.json's `MessagePage`: a thread's messages, oldest first.
    struct MessagePage: Encodable {
        var messages: [MessageJSON]
        var next_cursor: String?
    }

    struct MessageJSON: Encodable {
        var id: MessageID
        var direction: MessageDirection
        var kind: MessageKind
        var body: String
        var media: [MediaJSON]
        var status: MessageStatus
        var status_history: [StatusJSON]
        var error_code: String?
        var error_message: String?
        var segments: Int
        var encoding: String
        var provider_message_id: String?
        var appointment_id: String?
        var in_reply_to: MessageID?
        var created_at: Date
        /// Present while the outbox holds the message: when it will go, and why it waits
        /// once the outbox has deferred it (quiet hours, cadence, a retry).
        var scheduled_for: Date?
        var held_reason: String?

        init(_ message: StoredMessage, history: [StatusEvent], hold: MessageHold? = nil) {
            id = message.id!
            direction = message.direction
            kind = message.kind
            body = message.body
            media = message.media.map { MediaJSON(url: $0.url, content_type: $0.contentType) }
            status = message.status
            status_history = history.map {
                StatusJSON(status: $0.status, error_code: $0.errorCode, error_message: $0.errorMessage, at: $0.createdAt)
            }
            error_code = message.errorCode
            error_message = message.errorMessage
            segments = message.segments
            encoding = message.encoding.rawValue
            provider_message_id = message.providerMessageId
            appointment_id = message.appointmentId
            in_reply_to = message.inReplyTo
            created_at = message.createdAt
            scheduled_for = hold?.until
            held_reason = hold?.reason
        }
    }

    @Sendable func list(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let query = request.uri.queryParameters
        let limit = try Query.limit(query)
        let unread = try Query.flag(query, "unread")
        let needsReply = try Query.flag(query, "needs_reply")
        let cursor = try query.get("cursor").map { text -> ConversationCursor in
            guard let cursor = Cursor.decodeConversation(String(text)) else { throw Query.invalidCursor }
            return cursor
        }
        let rows = try await store.conversations(
            businessID: business.id, unreadOnly: unread, needsReplyOnly: needsReply, limit: limit + 1, after: cursor)
        let page = rows.prefix(limit)
        let next =
            rows.count > limit ? page.last.map { Cursor.encode(ConversationCursor(lastMessageAt: $0.lastMessageAt, id: $0.id)) } : nil
        return try JSON.response(ConversationPage(conversations: page.map(ConversationJSON.init), next_cursor: next))
    }

    @Sendable func show(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let phone = try context.phone(business)
        guard let summary = try await store.conversation(businessID: business.id, phone: phone) else {
            throw APIError.notFound("Conversation with \(phone)")
        }
        let appointments = try await store.appointments(businessID: business.id, phone: phone)
        return try JSON.response(
            ConversationDetail(
                conversation: ConversationJSON(summary), appointments: appointments.map { .init($0, phone: phone) }))
    }

    @Sendable func messages(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let phone = try context.phone(business)
        let query = request.uri.queryParameters
        let limit = try Query.limit(query)
        let before = try query.get("cursor").map { text -> MessageID in
            guard let id = Cursor.decodeMessage(String(text)) else { throw Query.invalidCursor }
            return id
        }
        guard
            let page = try await store.threadPage(
                businessID: business.id, phone: phone, limit: limit, before: before, now: now())
        else {
            throw APIError.notFound("Conversation with \(phone)")
        }
        let oldest = page.messages.first?.message.id
        return try JSON.response(
            MessagePage(
                messages: page.messages.map { MessageJSON($0.message, history: $0.history, hold: $0.hold) },
                next_cursor: page.hasOlder ? oldest.map(Cursor.encode(messageID:)) : nil))
    }

    /// The body of `POST /conversations/{phone}/messages`; `null` is the same as leaving a field out.
    struct ManualMessageBody: APIRequestBody {
        var body: String?
        var media: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case body, media
        }

        static func expectation(for field: CodingKeys) -> String {
            switch field {
            case .body: "`body` must be a string."
            case .media: "`media` must be a list of http(s) URLs."
            }
        }
    }

    @Sendable func send(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let phone = try context.phone(business)
        let draft = try await request.decode(as: ManualMessageBody.self, context: context)
        let body = draft.body ?? ""
        let mediaValues = draft.media ?? []
        guard mediaValues.count <= TwiML.maxMediaPerMessage else {
            throw APIError.invalid("media", "At most \(TwiML.maxMediaPerMessage) media URLs per message.")
        }
        try APIText.check(body, field: "body", lines: .many)
        for url in mediaValues {
            try APIText.check(url, field: "media", lines: .one)
            guard let parsed = URL(string: url), parsed.scheme == "https" || parsed.scheme == "http", parsed.host != nil else {
                throw APIError.invalid("media", "`\(url.prefix(80))` is not an http(s) URL.")
            }
        }
        let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty || !mediaValues.isEmpty else {
            throw APIError.invalid("body", "`body` is empty; write a message or attach media.")
        }
        guard body.count <= TwiML.maxBodyCharacters else {
            throw APIError.invalid("body", "`body` is \(body.count) characters; the limit is \(TwiML.maxBodyCharacters).")
        }
        do {
            let message = try await outbound.queue(
                .manual, body: body, media: mediaValues.map { .init(url: $0, contentType: nil) }, to: phone, for: business)
            return try JSON.response(MessageJSON(message, history: []), status: .created)
        } catch SendRefusal.optedOut(let since) {
            let when = since.map { " on \(RFC3339.string(from: $0))" } ?? ""
            throw APIError(
                .conflict, code: "opted_out",
                message: "\(phone) opted out\(when); nothing can be sent until they text START (or UNSTOP, or YES).", field: "phone")
        }
    }

    @Sendable func read(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let phone = try context.phone(business)
        guard try await store.markRead(businessID: business.id, phone: phone),
            let summary = try await store.conversation(businessID: business.id, phone: phone)
        else { throw APIError.notFound("Conversation with \(phone)") }
        return try JSON.response(ConversationJSON(summary))
    }

    struct ConsentJSON: Encodable {
        struct Event: Encodable {
            var from: String
            var to: String
            var source: String
            var message_id: String?
            var at: Date
        }
        var phone: String
        var consent: String
        var events: [Event]
    }

    @Sendable func consent(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let phone = try context.phone(business)
        guard let summary = try await store.conversation(businessID: business.id, phone: phone) else {
            throw APIError.notFound("Contact \(phone)")
        }
        let events = try await store.consentEvents(businessID: business.id, phone: phone)
        return try JSON.response(
            ConsentJSON(
                phone: phone, consent: summary.consent.rawValue,
                events: events.map {
                    .init(
                        from: $0.fromState.rawValue, to: $0.toState.rawValue, source: $0.source.rawValue, message_id: $0.messageId,
                        at: $0.createdAt)
                }))
    }
}

/// Query parameters shared by the list endpoints; bad values are 400 with the parameter named.
enum Query {
    static let invalidCursor = APIError(
        .badRequest, code: "invalid_parameter", message: "`cursor` is not one this API returned; start without it.", field: "cursor")

    static func limit(_ query: Parameters) throws -> Int {
        guard let text = query.get("limit") else { return 50 }
        guard let limit = Int(text), (1...200).contains(limit) else {
            throw APIError(.badRequest, code: "invalid_parameter", message: "`limit` must be a whole number from 1 to 200.", field: "limit")
        }
        return limit
    }

    /// A time parameter (`from`, `to`, `since`), RFC 3339 with an offset; nil when absent.
    static func time(_ query: Parameters, _ name: String) throws -> Date? {
        guard let text = query.get(name) else { return nil }
        guard let date = RFC3339.date(from: text) else {
            throw APIError(
                .badRequest, code: "invalid_parameter",
                message: "`\(name)` must be an RFC 3339 time with an offset, e.g. 2026-12-01T00:00:00-05:00 (encode + as %2B).",
                field: name)
        }
        return date
    }

    static func flag(_ query: Parameters, _ name: String) throws -> Bool {
        switch query.get(name) {
        case nil, "false", "0": return false
        case "true", "1": return true
        default: throw APIError(.badRequest, code: "invalid_parameter", message: "`\(name)` must be true or false.", field: name)
        }
    }
}

/// Opaque page cursors: base64url of what the next query continues from.
enum Cursor {
    /// To the microsecond, as PostgreSQL keeps times: a cursor rounded to the millisecond
    /// repeated or skipped a conversation at a page's edge there.
    static func encode(_ cursor: ConversationCursor) -> String {
        encode("cu:\(microseconds(cursor.lastMessageAt)):\(cursor.id)")
    }

    static func microseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }

    /// A cursor's time: microseconds after the prefix `micro`, or milliseconds after
    /// `milli`, the form given before; nil after any other prefix.
    static func time(_ prefix: Substring, _ value: Int64, micro: String, milli: String) -> Date? {
        switch prefix {
        case micro: Date(timeIntervalSince1970: Double(value) / 1_000_000)
        case milli: Date(timeIntervalSince1970: Double(value) / 1000)
        default: nil
        }
    }

    static func encode(messageID: MessageID) -> String { encode("m:\(messageID)") }

    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) -> [Substring]? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard cursor.count <= 64, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        return text.split(separator: ":")
    }

    /// A cursor of `encode`, or one in milliseconds (`c:`) given before it.
    static func decodeConversation(_ cursor: String) -> ConversationCursor? {
        guard let parts = decode(cursor), parts.count == 3, let value = Int64(parts[1]), let id = Int64(parts[2]),
            let time = time(parts[0], value, micro: "cu", milli: "c")
        else { return nil }
        return ConversationCursor(lastMessageAt: time, id: ConversationID(id))
    }

    static func decodeMessage(_ cursor: String) -> MessageID? {
        guard let parts = decode(cursor), parts.count == 2, parts[0] == "m", let id = Int64(parts[1]) else { return nil }
        return MessageID(id)
    }
}
