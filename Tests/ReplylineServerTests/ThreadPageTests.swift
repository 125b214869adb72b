import Foundation
import HummingbirdTesting
import ReplylineCore
import ReplylineSQLite
import ReplylineStore
import Testing

@testable import ReplylineServer

@Suite("Thread pages")
struct ThreadPageTests {
    // Compared with the SQLite store's second reading of a thread (`AppDatabase.messages`);
    // on PostgreSQL the inbox tests read the same pages over HTTP.
    @Test(
        "A thread page over HTTP is the thread as the store lists it, paged, with holds and status histories",
        .enabled(if: TestBackend.isSQLite))
    func pagesMatchTheStore() async throws {
        let server = try await TestServer()
        let bodies = [
            "C", "Hello \"there\" \\ back/slash", "tab\there\nnew line\r\u{8}\u{c}\u{1}\u{1f}", "emoji 😊 and 中文 and \u{2028}",
            "STOP", "START", "<Response>&amp;</Response>",
        ]
        try await server.app.test(.router) { client in
            _ = try await client.json(
                .post, "/api/v1/appointments",
                body: #"{"phone": "+14155550100", "service": "Cleaning", "starts_at": "2026-12-01T10:00:00-05:00", "amount": 120.5}"#)
            // Sent before the C below confirms the appointment, which would make it stale.
            try await server.replyline.outbox.runOnce()
            for (index, body) in bodies.enumerated() { try await client.text(body, sid: "SMjson\(index)") }
            let media = TestServer.inbound(
                TestServer.sms("SMjsonM", body: "").filter { $0.name != "NumMedia" }
                    + [
                        ("NumMedia", "2"), ("MediaUrl0", "https://x.example/a.png?x=1&y=\"2\""), ("MediaContentType0", "image/png"),
                        ("MediaUrl1", "https://x.example/b"),
                    ])
            _ = try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: media.0, body: media.1) { $0.status }
            // A status history with an error, through a callback for a message the console "sent".
            let sent = try #require(
                try await sqlite(server).messages(businessID: "clinic", phone: "+14155550100", limit: 50, before: nil)?
                    .first { $0.message.direction == .outbound && $0.message.kind == .confirmationRequest })
            let callback = StatusCallback(
                provider: sent.message.provider, providerMessageID: try #require(sent.message.providerMessageId), status: .undelivered,
                errorCode: "30003", errorMessage: "Unreachable \"handset\"", messageID: sent.message.id)
            _ = try await server.database.recordStatusCallback(callback, now: server.clock.now)
            try await client.text("Hi", sid: "SMjsonB", from: "+14155550101")
            // A reminder the outbox held back, with a reason that needs escaping; the other
            // reminder waits for its time.
            let reminder = try #require(
                try await server.database.dueOutbox(now: server.clock.now.addingTimeInterval(30 * 86_400), limit: 10).first {
                    $0.message.kind == .reminder
                })
            let until = reminder.entry.dueAt.addingTimeInterval(3600)
            _ = try await server.database.claimDue(owner: "test", now: reminder.entry.dueAt, limit: 10) {
                $0.entry.id == reminder.entry.id ? .hold(until: until, reason: "held: \"quiet\" hours\n") : nil
            }

            // The API's page (one ranged read with guarded hold lookups) against the same
            // page built from `messages` and `holds`, paged as the API pages.
            let full = try await expectedPage(server, limit: 50, before: nil)
            #expect(full.messages.contains { $0.media.count == 2 })
            #expect(full.messages.contains { $0.status_history.contains { $0.error_code == "30003" && $0.error_message != nil } })
            #expect(full.next_cursor == nil)
            #expect(full.messages.filter { $0.scheduled_for != nil }.count == 2)
            #expect(full.messages.contains { $0.held_reason == "held: \"quiet\" hours\n" })
            try expectSame(try await apiPage(client, "?limit=50"), JSON.encoder.encode(full))
            let newest = try await expectedPage(server, limit: 3, before: nil)
            let cursor = try #require(newest.next_cursor)
            try expectSame(try await apiPage(client, "?limit=3"), JSON.encoder.encode(newest))
            let older = try await expectedPage(server, limit: 3, before: Cursor.decodeMessage(cursor))
            #expect(older.messages.count == 3 && older.next_cursor != nil)
            try expectSame(try await apiPage(client, "?limit=3&cursor=\(cursor)"), JSON.encoder.encode(older))
        }
    }

    func apiPage(_ client: some TestClientProtocol, _ query: String) async throws -> String {
        try await client.execute(
            uri: "/api/v1/conversations/+14155550100/messages\(query)", method: .get, headers: [.authorization: "Bearer key-clinic"]
        ) { String(buffer: $0.body) }
    }

    /// The page as the API pages it, from `AppDatabase.messages`: one extra row tells
    /// whether older messages remain, and the cursor is the oldest message shown.
    func sqlite(_ server: TestServer) throws -> AppDatabase { try #require(server.sqlite) }

    func expectedPage(_ server: TestServer, limit: Int, before: MessageID?) async throws -> InboxController.MessagePage {
        let rows = try #require(
            try await sqlite(server).messages(businessID: "clinic", phone: "+14155550100", limit: limit + 1, before: before))
        let page = rows.count > limit ? Array(rows.dropFirst()) : rows
        let next = rows.count > limit ? page.first.map { Cursor.encode(messageID: $0.message.id!) } : nil
        let holds = try await server.database.holds(messageIDs: page.map { $0.message.id! }, now: server.clock.now)
        return InboxController.MessagePage(
            messages: page.map { .init($0.message, history: $0.history, hold: holds[$0.message.id!]) }, next_cursor: next)
    }

    func expectSame(_ page: String, _ encoded: Data) throws {
        let ours = try JSONSerialization.jsonObject(with: Data(page.utf8)) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: encoded) as? NSDictionary
        #expect(ours != nil && ours == theirs, "\(page)\n\(String(decoding: encoded, as: UTF8.self))")
    }
}
