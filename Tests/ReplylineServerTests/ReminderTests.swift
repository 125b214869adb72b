import Foundation
import HummingbirdTesting
import ReplylineCore
import ReplylineServer
import ReplylineStore
import Testing

/// Reminders as the shipped rules choose them: 24 hours before with `reminder`, and 7:00 on
/// the day with `reminder_same_day`, each with its own text, kept in step with the
/// appointment and checked again when due.
@Suite("Reminders")
struct ReminderTests {
    static let ana = "+14155550100"
    static let dayBefore =
        "Bright Smile Dental reminder: Cleaning on Fri, Nov 27 at 2:00 PM. Reply C to confirm, R to reschedule. STOP to opt out."
    static let sameDay = "Bright Smile Dental: your Cleaning is today at 2:00 PM. Address: 1200 Main St, Suite 4. Reply STOP to opt out."

    /// Books Ana's cleaning for Friday 14:00 New York; the clock says Wednesday 10:00.
    func book(_ client: some TestClientProtocol) async throws -> String {
        let (status, json) = try await client.json(
            .post, "/api/v1/appointments",
            body: #"{"phone": "\#(Self.ana)", "customer_name": "Ana", "service": "Cleaning", "starts_at": "2026-11-27T14:00:00-05:00"}"#)
        #expect(status == .created)
        return try #require(json["id"] as? String)
    }

    /// The reminders still to go, as `GET /api/v1/appointments` lists them: "due_at body".
    func pendingReminders(_ server: TestServer, _ client: some TestClientProtocol) async throws -> [String] {
        let (_, page) = try await client.json(.get, "/api/v1/appointments")
        let appointment = try #require((page["appointments"] as? [[String: Any]])?.first)
        let pending = try #require(appointment["pending_messages"] as? [[String: Any]]).filter { $0["kind"] as? String == "reminder" }
        let messages = try await reminders(server)
        return pending.map { entry in
            let body = messages.first { $0.id?.rawValue == (entry["message_id"] as? Int).map(Int64.init) }?.body
            return "\(entry["due_at"] as? String ?? "?") \(body ?? "?")"
        }
    }

    func reminders(_ server: TestServer) async throws -> [StoredMessage] {
        try #require(try await server.database.thread(businessID: "clinic", phone: Self.ana)).messages.filter { $0.kind == .reminder }
    }

    @Test("A booked appointment gets two reminders, each with its own text: 24 hours before, and 7:00 on the day (sent at 9:00)")
    func twoReminders() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            _ = try await book(client)
            #expect(
                try await pendingReminders(server, client) == [
                    "2026-11-26T19:00:00Z \(Self.dayBefore)", "2026-11-27T12:00:00Z \(Self.sameDay)",
                ])
            // Segments and encoding are counted for each text.
            #expect(try await reminders(server).map { "\($0.segments) \($0.encoding.rawValue)" } == ["1 GSM-7", "1 GSM-7"])

            try await server.replyline.outbox.runOnce()  // the confirmation request
            server.clock.advance(hours: 28)  // Thursday 14:00
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0.last?.body } == Self.dayBefore)
            server.clock.advance(hours: 17)  // Friday 7:00, before opening time: held until 9:00
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0.count } == 2)
            server.clock.advance(hours: 2)
            try await server.replyline.outbox.runOnce()
            #expect(
                sender.sent.withLock { $0.map { "\($0.kind.rawValue): \($0.body.prefix(28))" } } == [
                    "confirmation_request: Bright Smile Dental: your Cl", "reminder: \(Self.dayBefore.prefix(28))",
                    "reminder: \(Self.sameDay.prefix(28))",
                ])
        }
    }

    @Test("A new time drops the pending reminders and schedules new ones, each text naming the new time")
    func moved() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let id = try await book(client)
            let later = try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"starts_at": "2026-12-02T10:30:00-05:00"}"#)
            #expect(later.status == .ok)
            #expect(
                try await pendingReminders(server, client) == [
                    "2026-12-01T15:30:00Z Bright Smile Dental reminder: Cleaning on Wed, Dec 2 at 10:30 AM. Reply C to confirm, R to reschedule. STOP to opt out.",
                    "2026-12-02T12:00:00Z Bright Smile Dental: your Cleaning is today at 10:30 AM. Address: 1200 Main St, Suite 4. Reply STOP to opt out.",
                ])
            // Moved to tomorrow 8:00: 24 hours before has passed, so only the same-day reminder.
            let sooner = try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"starts_at": "2026-11-26T08:00:00-05:00"}"#)
            #expect(sooner.status == .ok)
            #expect(
                try await pendingReminders(server, client) == [
                    "2026-11-26T12:00:00Z Bright Smile Dental: your Cleaning is today at 8:00 AM. Address: 1200 Main St, Suite 4. Reply STOP to opt out."
                ])
            #expect(
                try await reminders(server).map(\.status.rawValue) == ["cancelled", "cancelled", "cancelled", "cancelled", "scheduled"])
        }
    }

    @Test("Cancelling through the API drops the pending reminders; none goes when its time comes")
    func cancelled() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let id = try await book(client)
            try await server.replyline.outbox.runOnce()
            #expect(try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"state": "cancelled"}"#).status == .ok)
            #expect(try await pendingReminders(server, client).isEmpty)
            #expect(try await reminders(server).map(\.status.rawValue) == ["cancelled", "cancelled"])
            for _ in 0..<3 {
                server.clock.advance(hours: 24)
                try await server.replyline.outbox.runOnce()
            }
            #expect(sender.sent.withLock { $0.map(\.kind) } == [.confirmationRequest])
        }
    }

    @Test("A reminder due while the server was down goes when it is back if the appointment has not started, else is skipped and logged")
    func missedWhileDown() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        let log = LogCapture()
        let replyline = try AppServices(server.replyline.configuration, store: server.database, sender: sender, logger: log.logger)
        try await buildApplication(replyline).test(.router) { client in
            _ = try await book(client)
            try await replyline.outbox.runOnce()
            // Down from Wednesday 10:00 to Thursday 16:00: the 24-hour reminder (Thursday 14:00) is late but still useful.
            server.clock.advance(hours: 30)
            try await replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0.map(\.body) }.last == Self.dayBefore)
            // Down again until Friday 15:00: the appointment started at 14:00, so the same-day reminder is skipped.
            server.clock.advance(hours: 23)
            try await replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0.count } == 2)
            let skipped = try #require(try await reminders(server).last)
            #expect(skipped.body == Self.sameDay)
            #expect(skipped.status == .skipped)
            #expect(skipped.errorMessage == "the appointment has already started")
            let line = "outbound message \(skipped.id!.rawValue) (reminder) for clinic: skipped: the appointment has already started"
            #expect(log.entries.contains { $0.level == .info && $0.message == line }, "\(log.entries.map(\.message))")
        }
    }
}
