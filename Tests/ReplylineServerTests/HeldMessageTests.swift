import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReplylineStore
import Testing

@testable import ReplylineServer

/// Issue 16, README and operations: "a held message says so … and the API shows it".
@Suite("Held messages in the API")
struct HeldMessageTests {
    static func messages(_ json: [String: Any]) -> [[String: Any]] { json["messages"] as? [[String: Any]] ?? [] }

    @Test("A message the outbox holds shows when it will go and why; scheduled reminders show when; sent ones neither")
    func heldInThread() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/conversations/+14155550100/messages", body: #"{"body": "Welcome!"}"#)
            try await server.replyline.outbox.runOnce()
            server.clock.advance(hours: 11.5)  // 21:30 in New York: quiet hours
            let (_, created) = try await client.json(
                .post, "/api/v1/appointments",
                body: #"{"phone": "+14155550100", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#)
            let id = try #require(created["id"] as? String)
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.map(\.kind.rawValue) == ["manual"])

            let (status, thread) = try await client.json(.get, "/api/v1/conversations/+14155550100/messages")
            #expect(status == .ok)
            let byKind = Dictionary(grouping: Self.messages(thread)) { $0["kind"] as? String ?? "" }
            // Held by quiet hours until 9:00 the next morning, New York time.
            let request = try #require(byKind["confirmation_request"]?.first)
            #expect(request["status"] as? String == "queued")
            #expect(request["scheduled_for"] as? String == "2026-11-26T14:00:00Z")
            #expect((request["held_reason"] as? String)?.isEmpty == false)
            // Reminders wait for their time, not held by anything.
            let reminders = try #require(byKind["reminder"])
            #expect(reminders.map { $0["scheduled_for"] as? String } == ["2026-11-30T14:00:00Z", "2026-12-01T12:00:00Z"])
            #expect(reminders.allSatisfy { $0["held_reason"] == nil })
            // Sent: nothing to wait for.
            let manual = try #require(byKind["manual"]?.first)
            #expect(manual["scheduled_for"] == nil && manual["held_reason"] == nil)

            // The appointment list tells the same.
            let (_, list) = try await client.json(.get, "/api/v1/appointments")
            let pending = try #require(
                (list["appointments"] as? [[String: Any]])?.first { $0["id"] as? String == id }?["pending_messages"] as? [[String: Any]])
            #expect(pending.first?["due_at"] as? String == "2026-11-26T14:00:00Z")
            #expect(pending.first?["held_reason"] as? String == request["held_reason"] as? String)

            // At 9:00 it goes, and the thread no longer says it is held.
            server.clock.advance(hours: 11.5)
            try await server.replyline.outbox.runOnce()
            let (_, later) = try await client.json(.get, "/api/v1/conversations/+14155550100/messages")
            let sent = try #require(Self.messages(later).first { $0["kind"] as? String == "confirmation_request" })
            #expect(sender.sent.withLock { $0 }.map(\.kind.rawValue) == ["manual", "confirmation_request"])
            #expect(sent["scheduled_for"] == nil && sent["held_reason"] == nil)
        }
    }
}
