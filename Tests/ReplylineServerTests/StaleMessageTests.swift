import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineServer
import ReplylineStore
import Testing

/// Texts about an appointment are checked against it when they are due, not only when
/// they were queued: a request held overnight must not ask a customer who already
/// answered, and nothing goes out about a cancelled appointment.
@Suite("Appointment texts at send time")
struct StaleMessageTests {
    static let ana = "+14155550100"

    /// Books Ana at 22:00 New York (outside the clinic's 09:00-20:00), for Friday 14:00, and
    /// runs the outbox once: the confirmation request is held until 09:00.
    func bookedAfterHours(_ server: TestServer, _ client: some TestClientProtocol) async throws -> String {
        server.clock.advance(hours: 12)  // 15:00Z + 12 h = 22:00 in New York
        let (status, json) = try await client.json(
            .post, "/api/v1/appointments",
            body: #"{"phone": "\#(Self.ana)", "customer_name": "Ana", "service": "Cleaning", "starts_at": "2026-11-27T14:00:00-05:00"}"#)
        #expect(status == .created)
        try await server.replyline.outbox.runOnce()
        let request = try await message(server, kind: .confirmationRequest)
        #expect(request.status == .queued)
        return try #require(json["id"] as? String)
    }

    func message(_ server: TestServer, kind: MessageKind) async throws -> (status: MessageStatus, reason: String?) {
        let thread = try #require(try await server.database.thread(businessID: "clinic", phone: Self.ana))
        let message = try #require(thread.messages.first { $0.kind == kind })
        return (message.status, message.errorMessage)
    }

    @Test("A C before opening time: the held confirmation request is skipped at 09:00, not sent")
    func confirmedByText() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            _ = try await bookedAfterHours(server, client)
            server.clock.advance(hours: 1)
            #expect(try await client.text("C", sid: "SMearly1", from: Self.ana).contains("is confirmed"))
            server.clock.advance(hours: 10)  // 09:00 Thursday
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.isEmpty)
            let request = try await message(server, kind: .confirmationRequest)
            #expect(request.status == .skipped)
            #expect(request.reason == "the appointment is already confirmed")
        }
    }

    @Test(
        "Staff change the state before opening time: the held request is skipped with the reason",
        arguments: [
            ("confirmed", "the appointment is already confirmed"), ("reschedule_requested", "the customer asked to reschedule"),
        ])
    func changedByStaff(state: String, reason: String) async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let id = try await bookedAfterHours(server, client)
            #expect(try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"state": "\#(state)"}"#).status == .ok)
            server.clock.advance(hours: 11)
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.isEmpty)
            #expect(try await message(server, kind: .confirmationRequest) == (.skipped, reason))
        }
    }

    @Test("A reminder goes to a confirmed appointment and is skipped for one the customer asked to move")
    func reminders() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let id = try await bookedAfterHours(server, client)
            server.clock.advance(hours: 11)  // 09:00 Thursday: the request goes
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0.map(\.kind.rawValue) } == ["confirmation_request"])
            _ = try await client.text("C", sid: "SMc1", from: Self.ana)
            server.clock.advance(hours: 5)  // 14:00 Thursday: the 24-hour reminder
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0.map(\.kind.rawValue) } == ["confirmation_request", "reminder"])
            #expect(try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"state": "reschedule_requested"}"#).status == .ok)
            server.clock.advance(hours: 19)  // 09:00 Friday: the morning reminder (07:00, held for opening time)
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0.count } == 2)
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: Self.ana))
            let last = try #require(thread.messages.last { $0.kind == .reminder })
            #expect(last.status == .skipped)
            #expect(last.errorMessage == "the customer asked to reschedule")
        }
    }

    @Test("Cancelled by text before opening time: the request and both reminders are skipped when due")
    func cancelledByText() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            _ = try await bookedAfterHours(server, client)
            server.clock.advance(hours: 1)
            #expect(try await client.text("CANCEL", sid: "SMx1", from: Self.ana).contains("is cancelled"))
            for _ in 0..<4 {
                server.clock.advance(hours: 10)
                try await server.replyline.outbox.runOnce()
            }
            #expect(sender.sent.withLock { $0 }.isEmpty)
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: Self.ana))
            let automated = thread.messages.filter { $0.kind == .confirmationRequest || $0.kind == .reminder }
            #expect(automated.map(\.status.rawValue) == ["skipped", "skipped", "skipped"], "\(automated.map(\.kind.rawValue))")
            #expect(automated.allSatisfy { $0.errorMessage == "the appointment was cancelled" })
        }
    }

    @Test("DELETE cancels the appointment's pending texts at once")
    func deleted() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let id = try await bookedAfterHours(server, client)
            #expect(try await client.json(.delete, "/api/v1/appointments/\(id)").status == .ok)
            server.clock.advance(hours: 40)
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.isEmpty)
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: Self.ana))
            #expect(thread.messages.filter { $0.direction == .outbound }.allSatisfy { $0.status == .cancelled })
        }
    }

    @Test("A held message is logged with the time it will go, in the business's time zone")
    func heldIsLogged() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            _ = try await bookedAfterHours(server, client)
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: Self.ana))
            let request = try #require(thread.messages.first { $0.kind == .confirmationRequest })
            let entry = try #require(try await server.database.outboxEntry(messageID: request.id!))
            #expect(entry.lastError == "held until 2026-11-26 09:00 America/New_York (business hours)")
            #expect(entry.state == .pending)
        }
    }
}
