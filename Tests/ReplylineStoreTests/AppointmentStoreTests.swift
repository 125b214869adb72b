import Foundation
import ReplylineCore
import ReplylineStore
import Testing

/// How the store keeps an appointment's reminders, on the backend under test: each with its
/// own text and time, replaced when the time changes, dropped when the appointment closes.
@Suite("Appointment reminders in the store")
struct AppointmentStoreTests {
    let now = Date(timeIntervalSince1970: 1_795_618_800)
    static let ana = "+14155550100"

    /// Three reminders with texts of their own: one GSM-7 segment, UCS-2 (an emoji), and two
    /// GSM-7 segments; each names the start time it was written for.
    static let compose: @Sendable (Appointment) -> AppointmentMessages = { appointment in
        let starts = appointment.startsAt.timeIntervalSince1970
        return AppointmentMessages(
            confirmationRequest: "Confirm \(starts)?",
            reminders: [
                (appointment.startsAt.addingTimeInterval(-86_400), "Tomorrow: \(starts)"),
                (appointment.startsAt.addingTimeInterval(-7_200), "Soon 🦷 \(starts)"),
                (appointment.startsAt.addingTimeInterval(-3_600), String(repeating: "x", count: 160) + " \(starts)"),
            ])
    }

    func create(_ store: any ConversationStore, startsAt: Date) async throws -> String {
        let created = try await store.createAppointment(
            NewAppointment(id: "apt_1", phone: Self.ana, customerName: "Ana", service: "Cleaning", startsAt: startsAt, amountCents: nil),
            businessID: "clinic", provider: "twilio", fromNumber: "+15017122661", now: now, compose: Self.compose)
        return created.appointment.id
    }

    /// The appointment's reminders still to go: "due time: body".
    func pending(_ store: any ConversationStore) async throws -> [String] {
        let listed = try #require(
            try await store.appointments(businessID: "clinic", filter: AppointmentFilter(), limit: 10, after: nil).first)
        let thread = try #require(try await store.thread(businessID: "clinic", phone: Self.ana))
        return listed.pendingMessages.filter { $0.kind == .reminder }.map { pending in
            "\(pending.dueAt.timeIntervalSince1970): \(thread.messages.first { $0.id == pending.messageID }?.body ?? "?")"
        }
    }

    func reminders(_ store: any ConversationStore) async throws -> [StoredMessage] {
        try #require(try await store.thread(businessID: "clinic", phone: Self.ana)).messages.filter { $0.kind == .reminder }
    }

    @Test("Each reminder is scheduled at its time with its own text, segments and encoding")
    func ownTexts() async throws {
        let store = try await TestStore.make()
        let starts = now.addingTimeInterval(3 * 86_400)
        _ = try await create(store, startsAt: starts)
        let s = starts.timeIntervalSince1970
        let long = String(repeating: "x", count: 160) + " \(s)"
        #expect(
            try await pending(store) == [
                "\(s - 86_400): Tomorrow: \(s)", "\(s - 7_200): Soon 🦷 \(s)", "\(s - 3_600): \(long)",
            ])
        let stored = try await reminders(store)
        #expect(stored.map(\.status) == [.scheduled, .scheduled, .scheduled])
        #expect(stored.map(\.segments) == [1, 1, 2])
        #expect(stored.map(\.encoding) == [.gsm7, .ucs2, .gsm7])
    }

    @Test("A new time cancels the pending reminders and schedules the ones written for it; a final state cancels them")
    func rescheduledAndCancelled() async throws {
        let store = try await TestStore.make()
        let id = try await create(store, startsAt: now.addingTimeInterval(3 * 86_400))
        let moved = now.addingTimeInterval(5 * 86_400)
        _ = try await store.updateAppointment(
            id: id, businessID: "clinic", update: AppointmentUpdate(startsAt: moved), provider: "twilio", fromNumber: "+15017122661",
            now: now, compose: Self.compose)
        let s = moved.timeIntervalSince1970
        let long = String(repeating: "x", count: 160) + " \(s)"
        #expect(try await pending(store) == ["\(s - 86_400): Tomorrow: \(s)", "\(s - 7_200): Soon 🦷 \(s)", "\(s - 3_600): \(long)"])
        #expect(try await reminders(store).map(\.status) == [.cancelled, .cancelled, .cancelled, .scheduled, .scheduled, .scheduled])

        _ = try await store.updateAppointment(
            id: id, businessID: "clinic", update: AppointmentUpdate(state: .cancelled), provider: "twilio", fromNumber: "+15017122661",
            now: now, compose: Self.compose)
        #expect(try await pending(store).isEmpty)
        #expect(try await reminders(store).allSatisfy { $0.status == .cancelled })
        #expect(try await store.dueOutbox(now: moved, limit: 50).isEmpty)
    }
}
