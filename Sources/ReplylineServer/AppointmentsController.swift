import Foundation
import Hummingbird
import ReplylineCore
import ReplylineStore

/// `POST /api/v1/appointments`, `GET /api/v1/appointments` (see AppointmentList.swift) and
/// `GET/PATCH/DELETE /api/v1/appointments/{id}`.
struct AppointmentsController {
    let replyline: AppServices

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
        let object = try await JSON.object(request)
        let configuration = replyline.configuration
        let new = try Self.validate(object, business: business, now: configuration.now(), id: configuration.makeID("apt"))
        let created = try await replyline.createAppointment(new, for: business)
        return try JSON.response(
            AppointmentJSON(created.appointment, phone: new.phone, confirmationMessageID: created.confirmationMessageID), status: .created)
    }

    @Sendable func show(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let id = try context.parameters.require("id")
        guard let (appointment, phone) = try await replyline.store.appointment(id: id, businessID: business.id) else {
            throw APIError.notFound("Appointment \(id)")
        }
        return try JSON.response(AppointmentJSON(appointment, phone: phone))
    }

    @Sendable func update(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let id = try context.parameters.require("id")
        let object = try await JSON.object(request)
        let change = try Self.validateUpdate(object, now: replyline.configuration.now())
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
            let updated = try await replyline.updateAppointment(id: id, change, for: business)
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

    /// Reads and checks a PATCH body: any of customer_name, service, starts_at, amount, state.
    static func validateUpdate(_ object: [String: Any], now: Date) throws -> AppointmentUpdate {
        let known: Set<String> = ["customer_name", "service", "starts_at", "amount", "state"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw APIError.invalid(unknown, "Unknown field `\(unknown)`. Fields are customer_name, service, starts_at, amount, state.")
        }
        guard !object.isEmpty else {
            throw APIError.invalid("body", "Nothing to change: give at least one of \(known.sorted().joined(separator: ", ")).")
        }
        if let null = object.keys.sorted().first(where: { object[$0] is NSNull }) {
            throw APIError.invalid(null, "`\(null)` cannot be null; leave it out to keep its value.")
        }
        if object["state"] != nil, object["starts_at"] != nil {
            throw APIError.invalid("state", "Change `starts_at` or `state`, not both: a new time asks the customer to confirm again.")
        }
        var update = AppointmentUpdate()
        let fields = try Fields(object)
        update.customerName = try fields.text("customer_name", required: false)
        update.service = try fields.text("service", required: false)
        if object["starts_at"] != nil { update.startsAt = try fields.startsAt(now: now) }
        update.amountCents = try fields.amountCents()
        if let value = object["state"] {
            let allowed = AppointmentState.allCases.filter { $0 != .scheduled && $0 != .awaitingReply }.map(\.rawValue)
            guard let text = value as? String, let state = AppointmentState(rawValue: text), allowed.contains(text) else {
                throw APIError.invalid("state", "`state` must be one of \(allowed.joined(separator: ", ")).")
            }
            update.state = state
        }
        return update
    }

    /// Reads and checks the body of a new appointment; every error names its field.
    static func validate(_ object: [String: Any], business: Business, now: Date, id: String) throws -> NewAppointment {
        let known: Set<String> = ["phone", "customer_name", "service", "starts_at", "amount"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw APIError.invalid(unknown, "Unknown field `\(unknown)`. Fields are phone, customer_name, service, starts_at, amount.")
        }
        let fields = try Fields(object)
        let phoneText = try fields.text("phone", required: true)!
        guard let phone = PhoneNumber(phoneText, defaultCountry: business.rules.business.country) else {
            throw APIError.invalid(
                "phone", "`\(phoneText)` is not a phone number. Use E.164 (+15551234567) or a \(business.rules.business.country) number.")
        }
        let service = try fields.text("service", required: true)!
        let name = try fields.text("customer_name", required: false)
        guard object["starts_at"] != nil else { throw APIError.invalid("starts_at", "`starts_at` is required.") }
        return NewAppointment(
            id: id, phone: phone.e164, customerName: name, service: service, startsAt: try fields.startsAt(now: now),
            amountCents: try fields.amountCents())
    }

    /// Typed reads of a JSON object's fields; each failure names the field.
    struct Fields {
        let object: [String: Any]

        init(_ object: [String: Any]) throws { self.object = object }

        /// A string field, trimmed; `lines` says whether it may hold line breaks (see `APIText`).
        func text(_ field: String, required: Bool, max: Int = 200, lines: APIText.Lines = .one) throws -> String? {
            guard let value = object[field], !(value is NSNull) else {
                if required { throw APIError.invalid(field, "`\(field)` is required.") }
                return nil
            }
            guard let string = value as? String, !string.trimmingCharacters(in: .whitespaces).isEmpty, string.count <= max else {
                throw APIError.invalid(field, "`\(field)` must be a non-empty string of at most \(max) characters.")
            }
            try APIText.check(string, field: field, lines: lines)
            return string.trimmingCharacters(in: .whitespaces)
        }

        func startsAt(now: Date) throws -> Date {
            let text = try self.text("starts_at", required: true)!
            guard let date = RFC3339.date(from: text) else {
                throw APIError.invalid("starts_at", "`starts_at` must be an RFC 3339 time with an offset, e.g. 2026-12-01T15:30:00-05:00.")
            }
            guard date > now else { throw APIError.invalid("starts_at", "`starts_at` is in the past.") }
            return date
        }

        func amountCents() throws -> Int? {
            guard let value = object["amount"], !(value is NSNull) else { return nil }
            guard !JSON.isBoolean(value), let number = value as? NSNumber, !(value is String), number.doubleValue >= 0,
                number.doubleValue < 1_000_000
            else { throw APIError.invalid("amount", "`amount` must be a non-negative number such as 120 or 89.50.") }
            return Int((number.doubleValue * 100).rounded())
        }
    }
}
