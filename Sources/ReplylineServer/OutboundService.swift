import Foundation
import ReplylineCore
import ReplylineStore

/// What the API writes that sends texts: appointments (which queue their confirmation
/// request and reminders) and messages queued by staff or after a call. It knows which
/// provider sends each business's messages, and writes each through the store at the
/// clock's time.
public struct OutboundService: Sendable {
    let store: any ConversationStore
    /// The name of the provider that sends each business's messages, by business id.
    let providerNames: [String: String]
    let now: @Sendable () -> Date
    /// Wakes the outbox worker for what is queued to go now.
    let doorbell: OutboxDoorbell

    /// Creates an appointment for `business` and queues its confirmation request.
    public func createAppointment(_ new: NewAppointment, for business: Business) async throws -> CreatedAppointment {
        let created = try await store.createAppointment(
            new, businessID: business.id, provider: provider(of: business), fromNumber: business.sendingNumber, now: now(),
            compose: compose(for: business))
        doorbell.ring()
        return created
    }

    /// Changes an appointment of `business`; a new time queues a new confirmation request.
    public func updateAppointment(
        id: String, _ change: AppointmentUpdate, for business: Business
    ) async throws -> (appointment: StoredAppointment, phone: String, confirmationMessageID: MessageID?) {
        let updated = try await store.updateAppointment(
            id: id, businessID: business.id, update: change, provider: provider(of: business), fromNumber: business.sendingNumber,
            now: now(), compose: compose(for: business))
        if updated.confirmationMessageID != nil { doorbell.ring() }
        return updated
    }

    /// Queues a message of `kind` to `phone` from `business`'s sending number; throws
    /// `SendRefusal` when the contact opted out.
    public func queue(
        _ kind: MessageKind, body: String, media: [InboundMessage.Media] = [], appointmentID: String? = nil, to phone: String,
        for business: Business
    ) async throws -> StoredMessage {
        let message = try await store.queueOutbound(
            businessID: business.id, phone: phone, kind: kind, body: body, media: media, appointmentID: appointmentID,
            provider: provider(of: business), fromNumber: business.sendingNumber, now: now())
        doorbell.ring()
        return message
    }

    /// Records a call event of `business` and queues the SMS it asks for (see
    /// `ConversationStore.recordCall`); the worker is woken for those due now.
    public func recordCall(_ call: CallRecord, sms: [CallSMSRequest], for business: Business) async throws -> CallEventOutcome {
        let outcome = try await store.recordCall(
            call, sms: sms, businessID: business.id, provider: provider(of: business), fromNumber: business.sendingNumber, now: now())
        if !outcome.queued.isEmpty { doorbell.ring() }
        return outcome
    }

    func provider(of business: Business) -> String { providerNames[business.id] ?? business.provider }

    /// The engine's texts for an appointment of `business`: its confirmation request, and
    /// each reminder the rules schedule, with its time and its own reply.
    func compose(for business: Business) -> @Sendable (Appointment) -> AppointmentMessages {
        let engine = business.engine
        let now = now()
        return { appointment in
            AppointmentMessages(
                confirmationRequest: engine.render(
                    engine.rules.replies.confirmationRequest, contact: ContactSnapshot(), appointment: appointment),
                reminders: ReminderSchedule.reminders(for: appointment.startsAt, now: now, rules: engine.rules).map {
                    ($0.time, engine.render($0.rule.template, contact: ContactSnapshot(), appointment: appointment))
                })
        }
    }
}
