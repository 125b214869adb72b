import Foundation
import Hummingbird
import ReplylineCore
import ReplylineStore

/// `POST /api/v1/appointments`, `GET /api/v1/appointments` (see AppointmentList.swift) and
/// `GET/PATCH/DELETE /api/v1/appointments/{id}`.
struct AppointmentsController {
    let store: any ConversationStore
    let outbound: OutboundService
    let now: @Sendable () -> Date
    let makeID: @Sendable (String) -> String

    func addRoutes(to group: RouterGroup<APIContext>) {
        group.get("appointments", use: list)
        group.post("appointments", use: create)
        group.get("appointments/{id}", use: show)
        group.patch("appointments/{id}", use: update)
        group.delete("appointments/{id}", use: cancel)
    }

    struct AppointmentJSON: Encodable {
        var id: String
        var phone: String
        var customer_name: String?
        var service: String
        var starts_at: Date
        var amount: Double?
        var state: String
        var created_at: Date
        var updated_at: Date
        var confirmation_message_id: MessageID?
        /// Only in the list: the messages about it still to go.
        var pending_messages: [PendingMessageJSON]?

        init(_ appointment: StoredAppointment, phone: String, confirmationMessageID: MessageID? = nil) {
            id = appointment.id
            self.phone = phone
            customer_name = appointment.customerName
            service = appointment.service
            starts_at = appointment.startsAt
            amount = appointment.amountCents.map { Double($0) / 100 }
            state = appointment.state.rawValue
            created_at = appointment.createdAt
            updated_at = appointment.updatedAt
            confirmation_message_id = confirmationMessageID
        }
    }

    @Sendable func create(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let body = try await request.decode(as: NewAppointmentBody.self, context: context)
        let new = try Self.validate(body, business: business, now: now(), id: makeID("apt"))
        let created = try await outbound.createAppointment(new, for: business)
        return try JSON.response(
            AppointmentJSON(created.appointment, phone: new.phone, confirmationMessageID: created.confirmationMessageID), status: .created)
    }

    @Sendable func show(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let id = try context.parameters.require("id")
        guard let (appointment, phone) = try await store.appointment(id: id, businessID: business.id) else {
            throw APIError.notFound("Appointment \(id)")
        }
        return try JSON.response(AppointmentJSON(appointment, phone: phone))
    }

    @Sendable func update(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let id = try context.parameters.require("id")
        let body = try await request.decode(as: AppointmentChangeBody.self, context: context)
        let change = try Self.validateUpdate(body, now: now())
        return try await apply(change, to: id, business: business, field: change.state != nil ? "state" : "starts_at")
    }

    /// DELETE cancels: the appointment stays on record as `cancelled` and its pending messages are dropped.
    @Sendable func cancel(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let id = try context.parameters.require("id")
        return try await apply(AppointmentUpdate(state: .cancelled), to: id, business: business, field: nil)
    }

    func apply(_ change: AppointmentUpdate, to id: String, business: Business, field: String?) async throws -> Response {
        do {
            let updated = try await outbound.updateAppointment(id: id, change, for: business)
            return try JSON.response(
                AppointmentJSON(updated.appointment, phone: updated.phone, confirmationMessageID: updated.confirmationMessageID))
        } catch AppointmentUpdateError.notFound {
            throw APIError.notFound("Appointment \(id)")
        } catch AppointmentUpdateError.invalidTransition(let from, let to) {
            throw APIError(
                .conflict, code: "invalid_transition",
                message:
                    "The appointment is \(from.rawValue) and cannot become \(to.rawValue); cancelled, completed and no_show are final.",
                field: field)
        }
    }

    /// The body of `POST /appointments`, checked by `validate`.
    struct NewAppointmentBody: APIRequestBody {
        var phone: String?
        var customer_name: String?
        var service: String?
        var starts_at: String?
        var amount: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case phone, customer_name, service, starts_at, amount
        }

        static func expectation(for field: CodingKeys) -> String {
            switch field {
            case .amount: Fields.notAmount
            case .phone, .customer_name, .service, .starts_at: Fields.notText(field.rawValue)
            }
        }
    }

    /// The body of `PATCH /appointments/{id}`, checked by `validateUpdate`: only the fields
    /// sent change, so it keeps which were sent, and which of those as `null`.
    struct AppointmentChangeBody: APIRequestBody {
        var customer_name: String?
        var service: String?
        var starts_at: String?
        var amount: Double?
        var state: String?
        /// The fields sent, in key order.
        var sent: [CodingKeys]
        /// The fields sent as `null`, in key order.
        var null: [CodingKeys]

        enum CodingKeys: String, CodingKey, CaseIterable {
            case customer_name, service, starts_at, amount, state
        }

        /// The states a PATCH may set; the others are the engine's to set.
        static let settableStates = AppointmentState.allCases.filter { $0 != .scheduled && $0 != .awaitingReply }.map(\.rawValue)

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            sent = container.allKeys.sorted { $0.rawValue < $1.rawValue }
            null = try sent.filter { try container.decodeNil(forKey: $0) }
            customer_name = try container.decodeIfPresent(String.self, forKey: .customer_name)
            service = try container.decodeIfPresent(String.self, forKey: .service)
            starts_at = try container.decodeIfPresent(String.self, forKey: .starts_at)
            amount = try container.decodeIfPresent(Double.self, forKey: .amount)
            state = try container.decodeIfPresent(String.self, forKey: .state)
        }

        static func expectation(for field: CodingKeys) -> String {
            switch field {
            case .amount: Fields.notAmount
            case .state: "`state` must be one of \(settableStates.joined(separator: ", "))."
            case .customer_name, .service, .starts_at: Fields.notText(field.rawValue)
            }
        }
    }

    /// Checks a PATCH body: any of customer_name, service, starts_at, amount, state.
    static func validateUpdate(_ body: AppointmentChangeBody, now: Date) throws -> AppointmentUpdate {
        guard !body.sent.isEmpty else {
            let known = AppointmentChangeBody.CodingKeys.allCases.map(\.rawValue).sorted()
            throw APIError.invalid("body", "Nothing to change: give at least one of \(known.joined(separator: ", ")).")
        }
        if let null = body.null.first?.rawValue {
            throw APIError.invalid(null, "`\(null)` cannot be null; leave it out to keep its value.")
        }
        if body.state != nil, body.starts_at != nil {
            throw APIError.invalid("state", "Change `starts_at` or `state`, not both: a new time asks the customer to confirm again.")
        }
        var update = AppointmentUpdate()
        update.customerName = try Fields.text(body.customer_name, "customer_name", required: false)
        update.service = try Fields.text(body.service, "service", required: false)
        if body.starts_at != nil { update.startsAt = try Fields.startsAt(body.starts_at, now: now) }
        update.amountCents = try Fields.amountCents(body.amount)
        if let text = body.state {
            guard let state = AppointmentState(rawValue: text), AppointmentChangeBody.settableStates.contains(text) else {
                throw APIError.invalid("state", AppointmentChangeBody.expectation(for: .state))
            }
            update.state = state
        }
        return update
    }

    /// Checks the body of a new appointment; every error names its field.
    static func validate(_ body: NewAppointmentBody, business: Business, now: Date, id: String) throws -> NewAppointment {
        let phoneText = try Fields.text(body.phone, "phone", required: true)!
        guard let phone = PhoneNumber(phoneText, defaultCountry: business.rules.business.country) else {
            throw APIError.invalid(
                "phone", "`\(phoneText)` is not a phone number. Use E.164 (+15551234567) or a \(business.rules.business.country) number.")
        }
        let service = try Fields.text(body.service, "service", required: true)!
        let name = try Fields.text(body.customer_name, "customer_name", required: false)
        return NewAppointment(
            id: id, phone: phone.e164, customerName: name, service: service, startsAt: try Fields.startsAt(body.starts_at, now: now),
            amountCents: try Fields.amountCents(body.amount))
    }

    /// Checks of a body's decoded fields; each failure names the field.
    enum Fields {
        static let notAmount = "`amount` must be a non-negative number such as 120 or 89.50."

        static func notText(_ field: String, max: Int = 200) -> String {
            "`\(field)` must be a non-empty string of at most \(max) characters."
        }

        /// A string field, trimmed; `lines` says whether it may hold line breaks (see `APIText`).
        static func text(_ value: String?, _ field: String, required: Bool, max: Int = 200, lines: APIText.Lines = .one) throws -> String? {
            guard let value else {
                if required { throw APIError.invalid(field, "`\(field)` is required.") }
                return nil
            }
            guard !value.trimmingCharacters(in: .whitespaces).isEmpty, value.count <= max else {
                throw APIError.invalid(field, notText(field, max: max))
            }
            try APIText.check(value, field: field, lines: lines)
            return value.trimmingCharacters(in: .whitespaces)
        }

        static func startsAt(_ value: String?, now: Date) throws -> Date {
            let text = try self.text(value, "starts_at", required: true)!
            guard let date = RFC3339.date(from: text) else {
                throw APIError.invalid("starts_at", "`starts_at` must be an RFC 3339 time with an offset, e.g. 2026-12-01T15:30:00-05:00.")
            }
            guard date > now else { throw APIError.invalid("starts_at", "`starts_at` is in the past.") }
            return date
        }

        static func amountCents(_ value: Double?) throws -> Int? {
            guard let value else { return nil }
            guard value >= 0, value < 1_000_000 else { throw APIError.invalid("amount", notAmount) }
            return Int((value * 100).rounded())
        }
    }
}
