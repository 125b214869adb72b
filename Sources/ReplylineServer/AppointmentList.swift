import Foundation
import Hummingbird
import ReplylineCore
import ReplylineStore

/// `GET /api/v1/appointments?state=…&from=…&to=…&limit=…&cursor=…`: the business's
/// appointments by start time, each with the messages about it still to go and when.
extension AppointmentsController {
    struct PendingMessageJSON: Encodable {
        var message_id: MessageID
        var kind: MessageKind
        var due_at: Date
        var held_reason: String?

        init(_ pending: PendingAppointmentMessage) {
            message_id = pending.messageID
            kind = pending.kind
            due_at = pending.dueAt
            held_reason = pending.heldReason
        }
    }

    struct AppointmentPage: Encodable {
        var appointments: [AppointmentJSON]
        var next_cursor: String?
    }

    @Sendable func list(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let query = request.uri.queryParameters
        let limit = try Query.limit(query)
        let filter = try Self.filter(query)
        let cursor = try query.get("cursor").map { text -> AppointmentCursor in
            guard let cursor = Cursor.decodeAppointment(String(text)) else { throw Query.invalidCursor }
            return cursor
        }
        let rows = try await store.appointments(businessID: business.id, filter: filter, limit: limit + 1, after: cursor)
        let page = rows.prefix(limit)
        let next =
            rows.count > limit
            ? page.last.map { Cursor.encode(AppointmentCursor(startsAt: $0.appointment.startsAt, id: $0.appointment.id)) } : nil
        return try JSON.response(
            AppointmentPage(
                appointments: page.map { listed in
                    var json = AppointmentJSON(listed.appointment, phone: listed.phone)
                    json.pending_messages = listed.pendingMessages.map(PendingMessageJSON.init)
                    return json
                }, next_cursor: next))
    }

    /// `state` (one or more, comma-separated), `from` and `to` (RFC 3339, on starts_at; `to`
    /// exclusive); each bad value is a 400 naming its parameter.
    static func filter(_ query: Parameters) throws -> AppointmentFilter {
        var filter = AppointmentFilter()
        if let text = query.get("state") {
            let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            filter.states = try names.map { name in
                guard let state = AppointmentState(rawValue: name) else {
                    throw APIError(
                        .badRequest, code: "invalid_parameter",
                        message:
                            "`state` must be one or more of \(AppointmentState.allCases.map(\.rawValue).joined(separator: ", ")), separated by commas; `\(name.prefix(40))` is none of them.",
                        field: "state")
                }
                return state
            }
        }
        filter.from = try Query.time(query, "from")
        filter.to = try Query.time(query, "to")
        if let from = filter.from, let to = filter.to, to <= from {
            throw APIError(
                .badRequest, code: "invalid_parameter", message: "`to` must be later than `from` (`to` is exclusive).", field: "to")
        }
        return filter
    }
}

extension Cursor {
    /// `a:<starts_at in ms>:<id>`: the last appointment of a page, which the next one follows.
    /// To the microsecond, as PostgreSQL keeps times (see the conversation cursor).
    static func encode(_ cursor: AppointmentCursor) -> String {
        encode("au:\(microseconds(cursor.startsAt)):\(cursor.id)")
    }

    /// A cursor of `encode`, or one in milliseconds (`a:`) given before it.
    static func decodeAppointment(_ cursor: String) -> AppointmentCursor? {
        guard let parts = decode(cursor), parts.count == 3, let value = Int64(parts[1]), !parts[2].isEmpty,
            let time = time(parts[0], value, micro: "au", milli: "a")
        else { return nil }
        return AppointmentCursor(startsAt: time, id: String(parts[2]))
    }
}
