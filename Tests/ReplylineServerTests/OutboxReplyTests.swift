import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineCore
import ReplylineProviders
import ReplylineServer
import ReplylineStore
import Testing

/// A provider that replies by REST: the webhook is answered with an empty 200, and the
/// replies, queued in the same transaction as the inbound text, go out through the outbox
/// and that provider's sender.
@Suite("Replies through the outbox")
struct OutboxReplyTests {
    static let customer = "+14155550100"

    /// Posts an inbound text to the relay's webhook; returns the status, content type and body.
    static func text(
        _ client: some TestClientProtocol, _ body: String, id: String, token: String = RelayProvider.token
    ) async throws -> (status: HTTPResponse.Status, contentType: String?, body: String) {
        let (headers, form) = RelayProvider.webhook(
            [("id", id), ("from", customer), ("to", TestServer.business), ("text", body)], token: token)
        return try await client.execute(uri: "/webhooks/relay/messages", method: .post, headers: headers, body: form) {
            ($0.status, $0.headers[.contentType], String(buffer: $0.body))
        }
    }

    static func replies(_ server: TestServer) async throws -> [StoredMessage] {
        let thread = try #require(try await server.database.thread(businessID: "clinic", phone: customer))
        return thread.messages.filter { $0.kind == .reply }
    }

    @Test("The webhook gets an empty 200; the reply is queued, then sent by the outbox through the relay; a retry queues nothing")
    func replyThroughOutbox() async throws {
        let sender = RelaySender()
        let server = try await TestServer.onRelay(sender)
        try await server.app.test(.router) { client in
            let answer = try await Self.text(client, "HELP", id: "RL1")
            #expect(answer.status == .ok)
            #expect(answer.body.isEmpty)
            let queued = try #require(try await Self.replies(server).first)
            #expect(queued.status == .queued)
            #expect(queued.provider == "relay")
            #expect(queued.body.contains("Msg&data rates may apply"))
            let entry = try #require(try await server.database.outboxEntry(messageID: queued.id!))
            #expect(entry.state == .pending)
            #expect(entry.businessId == "clinic")
            #expect(sender.bodies.isEmpty)

            try await server.replyline.outbox.runOnce()
            #expect(sender.bodies == [queued.body])
            let sent = try #require(sender.sent.withLock { $0.first })
            #expect(sent.toNumber == Self.customer)
            #expect(sent.fromNumber == TestServer.business)
            let after = try #require(try await Self.replies(server).first)
            #expect(after.providerMessageId == "RLout\(queued.id!)")

            let retry = try await Self.text(client, "HELP", id: "RL1")
            #expect(retry.status == .ok)
            #expect(retry.body.isEmpty)
            #expect(try await Self.replies(server).count == 1)
            try await server.replyline.outbox.runOnce()
            #expect(sender.bodies.count == 1)
        }
    }

    @Test("STOP's confirmation goes out through the outbox, then nothing more: neither an answer to free text nor staff's message")
    func stop() async throws {
        let sender = RelaySender()
        let server = try await TestServer.onRelay(sender)
        try await server.app.test(.router) { client in
            #expect(try await Self.text(client, "STOP", id: "RL1").status == .ok)
            try await server.replyline.outbox.runOnce()
            #expect(sender.bodies.count == 1)
            #expect(sender.bodies.first?.contains("unsubscribed") == true)

            #expect(try await Self.text(client, "Are you open on Saturday?", id: "RL2").status == .ok)
            let manual = try await client.json(
                .post, "/api/v1/conversations/\(Self.customer)/messages", body: #"{"body": "We're open 9-1 on Saturdays."}"#)
            #expect(manual.status == .conflict)
            try await server.replyline.outbox.runOnce()
            #expect(sender.bodies.count == 1)
        }
    }

    @Test("After STOP, HELP is still answered; a reply queued before a STOP is held back by it")
    func consentAtSendTime() async throws {
        let sender = RelaySender()
        let server = try await TestServer.onRelay(sender)
        try await server.app.test(.router) { client in
            _ = try await Self.text(client, "Do you take walk-ins?", id: "RL1")
            server.clock.advance(hours: 0.01)
            _ = try await Self.text(client, "STOP", id: "RL2")
            server.clock.advance(hours: 0.01)
            _ = try await Self.text(client, "HELP", id: "RL3")
            try await server.replyline.outbox.runOnce()
            let bodies = sender.bodies
            #expect(bodies.count == 2)
            #expect(bodies.first?.contains("unsubscribed") == true)
            #expect(bodies.last?.contains("Msg&data rates may apply") == true)
            let replies = try await Self.replies(server)
            #expect(replies.first?.status == .blocked)
        }
    }

    @Test("The relay's webhook checks its own token; Twilio's route answers inline for a Twilio business and refuses the relay's numbers")
    func routesPerProvider() async throws {
        let sender = RelaySender()
        let server = try await TestServer.onRelay(sender)
        try await server.app.test(.router) { client in
            #expect(try await Self.text(client, "HELP", id: "RL1", token: "wrong").status == .forbidden)
            #expect(try await server.database.thread(businessID: "clinic", phone: Self.customer) == nil)
            let twiml = try await client.text("HELP", sid: "SMtw1", to: TestServer.salonNumber)
            #expect(twiml.contains("<Message>"))
            // The clinic's number through Twilio's route: refused, its business is on the relay.
            let (headers, form) = TestServer.inbound(TestServer.sms("SMtw2", body: "HELP"))
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("/webhooks/relay/messages"))
            }
            #expect(try await server.database.thread(businessID: "clinic", phone: Self.customer) == nil)
            try await client.execute(uri: "/webhooks/plivo/messages", method: .post) { #expect($0.status == .notFound) }
            try await server.replyline.outbox.runOnce()
            #expect(sender.bodies.isEmpty)
        }
    }

    @Test("A status callback through the relay's route updates the relay's message")
    func statusCallback() async throws {
        let sender = RelaySender()
        let server = try await TestServer.onRelay(sender)
        try await server.app.test(.router) { client in
            _ = try await Self.text(client, "HELP", id: "RL1")
            try await server.replyline.outbox.runOnce()
            let reply = try #require(try await Self.replies(server).first)
            let (headers, body) = RelayProvider.webhook([
                ("id", "RLout\(reply.id!)"), ("status", "delivered"), ("from", TestServer.business),
            ])
            let status = try await client.execute(uri: "/webhooks/relay/status", method: .post, headers: headers, body: body) {
                $0.status
            }
            #expect(status == .noContent)
            #expect(try await Self.replies(server).first?.status == .delivered)
        }
    }

    @Test("A business naming a provider that is not registered is refused at start-up")
    func unknownProvider() async throws {
        await #expect(throws: ConfigurationError.self) { try await TestServer(configure: { $0.businesses[0].provider = "plivo" }) }
    }
}
