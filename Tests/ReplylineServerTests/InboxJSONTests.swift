import Foundation
import HummingbirdTesting
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineServer

@Suite("Hand-written inbox JSON")
struct InboxJSONTests {
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
            for (index, body) in bodies.enumerated() { try await client.text(body, sid: "SMjson\(index)") }
            let media = TestServer.inbound(
                TestServer.sms("SMjsonM", body: "").filter { $0.name != "NumMedia" }
                    + [
                        ("NumMedia", "2"), ("MediaUrl0", "https://x.example/a.png?x=1&y=\"2\""), ("MediaContentType0", "image/png"),
                        ("MediaUrl1", "https://x.example/b"),
                    ])
            _ = try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: media.0, body: media.1) { $0.status }
            // A status history with an error, through a callback for a message the console "sent".
            try await server.replyline.outbox.runOnce()
            let sent = try #require(
                try await server.database.messages(businessID: "clinic", phone: "+14155550100", limit: 50, before: nil)?
                    .first { $0.message.direction == .outbound && $0.message.kind == "confirmation_request" })
            let callback = StatusCallback(
                provider: sent.message.provider, providerMessageID: try #require(sent.message.providerMessageId), status: .undelivered,
                errorCode: "30003", errorMessage: "Unreachable \"handset\"", messageID: sent.message.id)
            _ = try await server.database.recordStatusCallback(callback, now: server.clock.now)
            try await client.text("Hi", sid: "SMjsonB", from: "+14155550101")
        }
        let rows = try #require(try await server.database.messages(businessID: "clinic", phone: "+14155550100", limit: 50, before: nil))
        let page = InboxController.MessagePage(messages: rows.map { .init($0.message, history: $0.history) }, next_cursor: "bTo0Mg")
        #expect(page.messages.contains { $0.media.count == 2 })
        #expect(page.messages.contains { $0.status_history.contains { $0.error_code == "30003" && $0.error_message != nil } })
        try expectSame(page.json().text, JSON.encoder.encode(page))
        let noCursor = InboxController.MessagePage(messages: Array(page.messages.prefix(2)), next_cursor: nil)
        try expectSame(noCursor.json().text, JSON.encoder.encode(noCursor))

        let summaries = try await server.database.conversations(
            businessID: "clinic", unreadOnly: false, needsReplyOnly: false, limit: 50, after: nil)
        let list = InboxController.ConversationPage(conversations: summaries.map(InboxController.ConversationJSON.init), next_cursor: nil)
        #expect(list.conversations.count == 2)
        try expectSame(list.json().text, JSON.encoder.encode(list))
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
