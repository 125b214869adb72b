import Foundation
import Hummingbird
import ReplylineCore
import ReplylineStore

/// `POST /events/call-completed {"phone", "summary", "appointment_id"?}`: the follow-up
/// text after a phone call (a voice agent's or a person's), from the rules' `post_call` reply.
struct EventsController {
    let store: any ConversationStore
    let outbound: OutboundService

    func addRoutes(to group: RouterGroup<APIContext>) {
        group.post("events/call-completed", use: callCompleted)
    }

    /// The body of `POST /events/call-completed`.
    struct CallCompletedBody: APIRequestBody {
        var phone: String?
        var summary: String?
        var appointment_id: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case phone, summary, appointment_id
        }

        /// The most characters a summary may have.
        static let summaryLimit = 600

        static func expectation(for field: CodingKeys) -> String {
            switch field {
            case .summary: AppointmentsController.Fields.notText("summary", max: summaryLimit)
            case .phone, .appointment_id: AppointmentsController.Fields.notText(field.rawValue)
            }
        }
    }

    @Sendable func callCompleted(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let call = try await request.decode(as: CallCompletedBody.self, context: context)
        guard let template = business.rules.replies.postCall else {
            throw APIError(
                .unprocessableContent, code: "no_post_call_reply",
                message: "The rules file \(business.rules.source) has no `replies.post_call`; add one to send call follow-ups.")
        }
        let fields = AppointmentsController.Fields.self
        let phoneText = try fields.text(call.phone, "phone", required: true)!
        guard let phone = PhoneNumber(phoneText, defaultCountry: business.rules.business.country) else {
            throw APIError.invalid("phone", "`\(phoneText)` is not a phone number. Use E.164 (+15551234567).")
        }
        let summary = try fields.text(call.summary, "summary", required: true, max: CallCompletedBody.summaryLimit, lines: .many)!
        var appointment: Appointment?
        if let id = try fields.text(call.appointment_id, "appointment_id", required: false) {
            guard let (stored, owner) = try await store.appointment(id: id, businessID: business.id), owner == phone.e164
            else {
                throw APIError(
                    .notFound, code: "not_found", message: "Appointment \(id) of \(phone.e164) not found.", field: "appointment_id")
            }
            appointment = Appointment(
                id: stored.id, customerName: stored.customerName, service: stored.service, startsAt: stored.startsAt,
                amountCents: stored.amountCents, state: stored.state)
        }
        var values = business.engine.values(contact: ContactSnapshot(), appointment: appointment)
        values[.summary] = summary
        let body = template.render(values)
        do {
            let message = try await outbound.queue(.postCall, body: body, appointmentID: appointment?.id, to: phone.e164, for: business)
            return try JSON.response(InboxController.MessageJSON(message, history: []), status: .created)
        } catch SendRefusal.optedOut {
            throw APIError(.conflict, code: "opted_out", message: "\(phone.e164) opted out; no follow-up can be sent.", field: "phone")
        }
    }
}
