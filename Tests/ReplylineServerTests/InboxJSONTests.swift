import Foundation
import HummingbirdTesting
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineServer

/// openapi.json's `MessagePage`, for JSONEncoder: what the hand-written thread page must equal.
struct MessagePage: Encodable {
    var messages: [InboxController.MessageJSON]
    var next_cursor: String?
}

@Suite("Hand-written inbox JSON")
struct InboxJSONTests {
    @Test("Stored bytes that are not UTF-8 still give valid JSON, as a String would")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0x61, 0xFF, 0x22, 0x62], [0xE2, 0x82], [0xC3, 0xA9, 0x0A], Array("plain \\ text".utf8)] {
            var ours: [UInt8] = []
            bytes.withUnsafeBufferPointer { JSONString.append(utf8: $0, to: &ours) }
            var theirs: [UInt8] = []
            JSONString.append(String(decoding: bytes, as: UTF8.self), to: &theirs)
            #expect(ours == theirs)
            #expect((try? JSONSerialization.jsonObject(with: Data(ours), options: .fragmentsAllowed)) as? String != nil)
        }
    }

    @Test("Numbers are written as String(value) would")
    func numbers() {
        for value in [0, 7, 10, 99, 100, -1, -10, 1_795_618_800, Int64.max, Int64.min] {
            var json = JSONText()
            json.number(value)
            #expect(json.text == String(value))
        }
        var json = JSONText()
        json.number(UInt8.max)
        #expect(json.text == "255")
    }

    @Test("Thread and list pages written by hand parse to exactly what JSONEncoder writes")
    func sameAsJSONEncoder() async throws {
        let server = try TestServer()
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
                try await server.database.messages(businessID: "clinic", phone: "+14155550100", limit: 50, before: nil)?
                    .first { $0.message.direction == .outbound && $0.message.kind == "confirmation_request" })
            let callback = StatusCallback(
                provider: sent.message.provider, providerMessageID: try #require(sent.message.providerMessageId), status: .undelivered,
                errorCode: "30003", errorMessage: "Unreachable \"handset\"", messageID: sent.message.id)
            _ = try await server.database.recordStatusCallback(callback, now: server.clock.now)
            try await client.text("Hi", sid: "SMjsonB", from: "+14155550101")
            // A reminder the outbox held back, with a reason that needs escaping; the other
            // reminder waits for its time.
            let reminder = try #require(
                try await server.database.dueOutbox(now: server.clock.now.addingTimeInterval(30 * 86_400), limit: 10).first {
                    $0.message.kind == "reminder"
                })
            try await server.database.deferSend(
                reminder.entry, until: reminder.entry.dueAt.addingTimeInterval(3600), reason: "held: \"quiet\" hours\n")

            // The thread page is written straight from SQLite's rows; JSONEncoder encodes the
            // same page built from StoredMessages, paged as the API pages.
            let full = try await expectedPage(server, limit: 50, before: nil)
            #expect(full.messages.contains { $0.media.count == 2 })
            #expect(full.messages.contains { $0.status_history.contains { $0.error_code == "30003" && $0.error_message != nil } })
            #expect(full.next_cursor == nil)
            #expect(full.messages.filter { $0.scheduled_for != nil }.count == 2)
            #expect(full.messages.contains { $0.held_reason == "held: \"quiet\" hours\n" })
            try expectSame(try await handPage(client, "?limit=50"), JSON.encoder.encode(full))
            let newest = try await expectedPage(server, limit: 3, before: nil)
            let cursor = try #require(newest.next_cursor)
            try expectSame(try await handPage(client, "?limit=3"), JSON.encoder.encode(newest))
            let older = try await expectedPage(server, limit: 3, before: Cursor.decodeMessage(cursor))
            #expect(older.messages.count == 3 && older.next_cursor != nil)
            try expectSame(try await handPage(client, "?limit=3&cursor=\(cursor)"), JSON.encoder.encode(older))
        }

        let summaries = try await server.database.conversations(
            businessID: "clinic", unreadOnly: false, needsReplyOnly: false, limit: 50, after: nil)
        let list = InboxController.ConversationPage(conversations: summaries.map(InboxController.ConversationJSON.init), next_cursor: nil)
        #expect(list.conversations.count == 2)
        try expectSame(list.json().text, JSON.encoder.encode(list))
    }

    func handPage(_ client: some TestClientProtocol, _ query: String) async throws -> String {
        try await client.execute(
            uri: "/api/v1/conversations/+14155550100/messages\(query)", method: .get, headers: [.authorization: "Bearer key-clinic"]
        ) { String(buffer: $0.body) }
    }

    /// The page as the API pages it, from `AppDatabase.messages`: one extra row tells
    /// whether older messages remain, and the cursor is the oldest message shown.
    func expectedPage(_ server: TestServer, limit: Int, before: Int64?) async throws -> MessagePage {
        let rows = try #require(
            try await server.database.messages(businessID: "clinic", phone: "+14155550100", limit: limit + 1, before: before))
        let page = rows.count > limit ? Array(rows.dropFirst()) : rows
        let next = rows.count > limit ? page.first.map { Cursor.encode(messageID: $0.message.id!) } : nil
        let holds = try await server.database.holds(messageIDs: page.map { $0.message.id! }, now: server.clock.now)
        return MessagePage(messages: page.map { .init($0.message, history: $0.history, hold: holds[$0.message.id!]) }, next_cursor: next)
    }

    func expectSame(_ hand: String, _ encoded: Data) throws {
        let ours = try JSONSerialization.jsonObject(with: Data(hand.utf8)) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: encoded) as? NSDictionary
        #expect(ours != nil && ours == theirs, "\(hand)\n\(String(decoding: encoded, as: UTF8.self))")
        // Key order too: both write keys sorted.
        let keys = { (text: String) in text.matches(of: /"([a-z_]+)":/).map { String($0.1) } }
        #expect(keys(hand) == keys(String(decoding: encoded, as: UTF8.self)))
    }
}
