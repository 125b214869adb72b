import Foundation
import Hummingbird
import ReplylineCore
import ReplylineStore

/// `POST /api/v1/appointments` and `GET /api/v1/appointments/{id}`.
struct AppointmentsController {
    let replyline: Replyline

    func addRoutes(to group: RouterGroup<APIContext>) {
        group.post("appointments", use: create)
        group.get("appointments/{id}", use: show)
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
        var confirmation_message_id: Int64?

        init(_ appointment: StoredAppointment, phone: String, confirmationMessageID: Int64? = nil) {
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
        guard let (appointment, phone) = try await replyline.database.appointment(id: id, businessID: business.id) else {
            throw APIError.notFound("Appointment \(id)")
        }
        return try JSON.response(AppointmentJSON(appointment, phone: phone))
    }

    /// Reads and checks the body of a new appointment; every error names its field.
    static func validate(_ object: [String: Any], business: Business, now: Date, id: String) throws -> NewAppointment {
        let known: Set<String> = ["phone", "customer_name", "service", "starts_at", "amount"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw APIError.invalid(unknown, "Unknown field `\(unknown)`. Fields are phone, customer_name, service, starts_at, amount.")
        }
        func text(_ field: String, required: Bool, max: Int = 200) throws -> String? {
            guard let value = object[field], !(value is NSNull) else {
                if required { throw APIError.invalid(field, "`\(field)` is required.") }
                return nil
            }
            guard let string = value as? String, !string.trimmingCharacters(in: .whitespaces).isEmpty, string.count <= max else {
                throw APIError.invalid(field, "`\(field)` must be a non-empty string of at most \(max) characters.")
            }
            return string.trimmingCharacters(in: .whitespaces)
        }
        let phoneText = try text("phone", required: true)!
        guard let phone = PhoneNumber(phoneText, defaultCountry: business.rules.business.country) else {
            throw APIError.invalid(
                "phone", "`\(phoneText)` is not a phone number. Use E.164 (+15551234567) or a \(business.rules.business.country) number.")
        }
        let service = try text("service", required: true)!
        let name = try text("customer_name", required: false)
        let startsText = try text("starts_at", required: true)!
        guard let startsAt = RFC3339.date(from: startsText) else {
            throw APIError.invalid("starts_at", "`starts_at` must be an RFC 3339 time with an offset, e.g. 2026-12-01T15:30:00-05:00.")
        }
        guard startsAt > now else { throw APIError.invalid("starts_at", "`starts_at` is in the past.") }
        var cents: Int?
        if let value = object["amount"], !(value is NSNull) {
            guard let number = value as? NSNumber, !(value is Bool), number.doubleValue >= 0, number.doubleValue < 1_000_000 else {
                throw APIError.invalid("amount", "`amount` must be a non-negative number such as 120 or 89.50.")
            }
            cents = Int((number.doubleValue * 100).rounded())
        }
        return NewAppointment(id: id, phone: phone.e164, customerName: name, service: service, startsAt: startsAt, amountCents: cents)
    }
}
