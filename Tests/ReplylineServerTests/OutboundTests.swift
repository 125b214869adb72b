import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineCore
import ReplylineProviders
import ReplylineProvidersHTTP
import ReplylineSQLite
import ReplylineServer
import ReplylineStore
import Testing

/// Outbound delivery against a fake Twilio on 127.0.0.1, with the clock moved by hand.
@Suite("Outbound delivery")
struct OutboundTests {
    static let booking =
        #"{"phone": "+14155550100", "customer_name": "Ana", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#

    /// Posts a signed status callback, as Twilio would.
    static func callback(
        _ client: some TestClientProtocol, sid: String, status: String, errorCode: String? = nil, messageID: MessageID? = nil
    ) async throws -> HTTPResponse.Status {
        var parameters: [(name: String, value: String)] = [
            ("AccountSid", FakeTwilio.account), ("MessageSid", sid), ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status),
        ]
        if let errorCode { parameters.append(("ErrorCode", errorCode)) }
        let path = "/webhooks/twilio/status" + (messageID.map { "?m=\($0)" } ?? "")
        let (headers, body) = TestServer.inbound(parameters, path: path)
        return try await client.execute(uri: path, method: .post, headers: headers, body: body) { $0.status }
    }

    /// Runs `body` with a fake Twilio and a server that sends through it.
    static func withFakeTwilio(
        _ answers: FakeTwilio.Answer..., body: @Sendable (FakeTwilio, TestServer, any TestClientProtocol) async throws -> Void
    ) async throws {
        let fake = FakeTwilio()
        for answer in answers { fake.answer(answer) }
        try await fake.run { baseURL in
            let server = try await TestServer.sendingThrough(baseURL)
            try await server.app.test(.router) { client in try await body(fake, server, client) }
        }
    }

    static func confirmation(_ server: TestServer) async throws -> StoredMessage {
        let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
        return try #require(thread.messages.first { $0.kind == .confirmationRequest })
    }

    @Test("A queued message goes to Twilio's Messages API once, with basic auth and a status callback naming it")
    func sends() async throws {
        try await Self.withFakeTwilio { fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            #expect(try await server.replyline.outbox.runOnce() == 1)
            #expect(try await server.replyline.outbox.runOnce() == 0)
            let requests = fake.received
            #expect(requests.count == 1)
            let request = try #require(requests.first)
            #expect(request.path == "/2010-04-01/Accounts/\(FakeTwilio.account)/Messages.json")
            #expect(request.authorization == "Basic " + Data("\(FakeTwilio.account):\(TestServer.token)".utf8).base64EncodedString())
            #expect(request["To"] == "+14155550100")
            #expect(request["From"] == TestServer.business)
            #expect(request["Body"]?.hasPrefix("Bright Smile Dental: your Checkup is on Tue, Dec 1 at 9:00 AM.") == true)
            let message = try await Self.confirmation(server)
            #expect(request["StatusCallback"] == "\(TestServer.publicURL)/webhooks/twilio/status?m=\(message.id!)")
            #expect(message.status == .queued)
            #expect(message.providerMessageId == "SM" + String(format: "%032x", 1))
            #expect(message.sentAt == server.clock.now)
        }
    }

    @Test("429 and 5xx are retried with backoff until Twilio accepts; the message is sent once")
    func retries() async throws {
        try await Self.withFakeTwilio(
            .error(500, code: 20500, message: "Internal Server Error"), .error(429, code: 20429, message: "Too Many Requests")
        ) { fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            #expect(try await Self.confirmation(server).status == .queued)
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.count == 1, "a retry went before its backoff")
            for _ in 0..<2 {
                server.clock.advance(hours: 10.0 / 3600)
                try await server.replyline.outbox.runOnce()
            }
            #expect(fake.received.count == 3)
            let message = try await Self.confirmation(server)
            #expect(message.providerMessageId != nil)
            #expect(message.errorCode == nil)
        }
    }

    @Test("Twilio 21610 fails the message and records the opt-out; later sends are refused")
    func unsubscribed() async throws {
        try await Self.withFakeTwilio(.error(400, code: 21610, message: "Attempt to send to unsubscribed recipient")) {
            fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            let message = try await Self.confirmation(server)
            #expect(message.status == .failed)
            #expect(message.errorCode == "21610")
            let ledger = try await server.database.consentEvents(businessID: "clinic", phone: "+14155550100")
            #expect(ledger.map(\.source) == [.provider])
            #expect(
                try await client.json(.post, "/api/v1/conversations/+14155550100/messages", body: #"{"body": "hi"}"#).status
                    == .conflict)
        }
    }

    @Test("Twilio 21211 marks the number invalid; its other messages are blocked, not sent")
    func invalidNumber() async throws {
        try await Self.withFakeTwilio(.error(400, code: 21211, message: "The 'To' number is not a valid phone number.")) {
            fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            _ = try await client.json(.post, "/api/v1/conversations/+14155550100/messages", body: #"{"body": "hello?"}"#)
            try await server.replyline.outbox.runOnce()
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
            let manual = try #require(thread.messages.first { $0.kind == .manual })
            #expect(manual.status == .blocked)
            #expect(manual.errorMessage == "the number cannot receive texts")
            #expect(fake.received.count == 1)
        }
    }

    @Test("A network failure is retried, and after the last attempt the message fails with the reason")
    func networkFailure() async throws {
        // Nothing listens on port 9 of 127.0.0.1: every connection is refused. The client
        // keeps trying until its deadline, so the test gives it a short one.
        let client = TwilioRESTClient(
            baseURL: "http://127.0.0.1:9", accountSID: FakeTwilio.account, authToken: "x", timeout: .milliseconds(150))
        let server = try await TestServer(sender: TwilioSender(client: client, publicURL: TestServer.publicURL))
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            for _ in 0..<OutboxTerms.maxSendAttempts {
                try await server.replyline.outbox.runOnce()
                server.clock.advance(hours: 0.3)
            }
            let message = try await Self.confirmation(server)
            #expect(message.status == .failed)
            #expect(message.errorMessage?.hasPrefix("gave up after 8 attempts: network") == true)
        }
    }

    @Test("A Twilio that takes the request but does not answer in time may have the message: unknown, never sent again")
    func timeout() async throws {
        let fake = FakeTwilio()
        // The timeout leaves time to connect and send even under TSan on 2 cores (with 100 ms the
        // request sometimes never reached the fake); the answer comes well after it.
        fake.answer(FakeTwilio.Answer(status: 201, body: #"{"sid": "SMslow", "status": "queued"}"#, delay: .seconds(2)))
        try await fake.run { baseURL in
            let client = TwilioRESTClient(baseURL: baseURL, accountSID: FakeTwilio.account, authToken: "x", timeout: .seconds(1))
            let server = try await TestServer(sender: TwilioSender(client: client, publicURL: TestServer.publicURL))
            try await server.app.test(.router) { client in
                _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
                try await server.replyline.outbox.runOnce()
                let message = try await Self.confirmation(server)
                #expect(message.status == .unknown)
                #expect(message.providerMessageId == nil)
                #expect(message.errorMessage?.hasPrefix("not sent again: the provider may have it") == true)
                server.clock.advance(hours: 1)
                try await server.replyline.outbox.runOnce()
                #expect(fake.requests.withLock { $0.count } == 1)
            }
        }
    }

    @Test("Status callbacks never move a status backwards and are all kept in the history")
    func statusPrecedence() async throws {
        try await Self.withFakeTwilio { fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            let sid = try #require(try await Self.confirmation(server).providerMessageId)
            for status in ["sent", "delivered", "sent", "delivered", "queued"] {
                #expect(try await Self.callback(client, sid: sid, status: status) == .noContent)
            }
            let message = try await Self.confirmation(server)
            #expect(message.status == .delivered)
            let (_, page) = try await client.json(.get, "/api/v1/conversations/+14155550100/messages")
            let json = try #require((page["messages"] as? [[String: Any]])?.first { $0["kind"] as? String == "confirmation_request" })
            let history = (json["status_history"] as? [[String: Any]])?.map { $0["status"] as? String }
            #expect(history == ["sent", "delivered", "sent", "delivered", "queued"])
            #expect(try await Self.callback(client, sid: sid, status: "exploded") == .badRequest)
        }
    }

    @Test("An undelivered message keeps its error code, explained")
    func undelivered() async throws {
        try await Self.withFakeTwilio { fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            let sid = try #require(try await Self.confirmation(server).providerMessageId)
            _ = try await Self.callback(client, sid: sid, status: "undelivered", errorCode: "30003")
            let message = try await Self.confirmation(server)
            #expect(message.status == .undelivered)
            #expect(message.errorCode == "30003")
            #expect(message.errorMessage == "unreachable destination handset")
        }
    }

    @Test("A callback for an id not yet known is held, then applied when the send names it")
    func heldCallback() async throws {
        try await Self.withFakeTwilio(.accepted("SMearly")) { fake, server, client in
            #expect(try await Self.callback(client, sid: "SMearly", status: "delivered") == .noContent)
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            let message = try await Self.confirmation(server)
            #expect(message.providerMessageId == "SMearly")
            #expect(message.status == .delivered)
        }
    }

    @Test("A callback that beats the REST response finds its message through the callback URL")
    func callbackFirst() async throws {
        try await Self.withFakeTwilio(.accepted("SMrace")) { fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let id = try await Self.confirmation(server).id!
            #expect(try await Self.callback(client, sid: "SMrace", status: "sent", messageID: id) == .noContent)
            try await server.replyline.outbox.runOnce()
            let message = try await Self.confirmation(server)
            #expect(message.providerMessageId == "SMrace")
            #expect(message.status == .sent)
        }
    }

    @Test("A send interrupted by a crash is never sent again; the provider's callback settles it")
    func crashBetweenSendAndCommit() async throws {
        try await Self.withFakeTwilio { fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let due = try await server.database.dueOutbox(now: server.clock.now, limit: 10)
            let entry = try #require(due.first { $0.message.kind == .confirmationRequest }?.entry)
            #expect(try await server.database.claim(entry, owner: "a:8080", now: server.clock.now))
            // Another instance's claim, still in its lease, is not touched.
            #expect(try await server.database.recoverInterruptedSends(restartOf: "b:8080", now: server.clock.now) == 0)
            // The process dies here: the provider may or may not have the message. Its lease
            // runs out, or it restarts under its own name, and the send is settled unknown.
            #expect(
                try await server.database.recoverInterruptedSends(now: server.clock.now.addingTimeInterval(OutboxTerms.sendLease - 1)) == 0)
            #expect(try await server.database.recoverInterruptedSends(restartOf: "a:8080", now: server.clock.now) == 1)
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.isEmpty)
            #expect(try await Self.confirmation(server).status == .unknown)
            _ = try await Self.callback(client, sid: "SMlost", status: "delivered", messageID: entry.messageId)
            #expect(try await Self.confirmation(server).status == .delivered)
        }
    }

    @Test("A claim whose attempt never began (the instance died between the two) goes back to pending and is sent once")
    func claimWithoutAttempt() async throws {
        try await Self.withFakeTwilio(.accepted("SMonce")) { fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let due = try await server.database.dueOutbox(now: server.clock.now, limit: 10)
            let entry = try #require(due.first { $0.message.kind == .confirmationRequest }?.entry)
            let decided = try await server.database.claimDue(owner: "a:8080", now: server.clock.now, limit: 10) {
                $0.entry.id == entry.id ? .send : nil
            }
            #expect(decided.map(\.decision) == [.send])
            #expect(try await server.database.outboxEntry(messageID: entry.messageId)?.state == .sending)
            // The instance restarts under its own name: nothing was sent, so nothing is unknown.
            #expect(try await server.database.recoverInterruptedSends(restartOf: "a:8080", now: server.clock.now) == 0)
            #expect(try await server.database.outboxEntry(messageID: entry.messageId)?.state == .pending)
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.count == 1)
            #expect(try await Self.confirmation(server).providerMessageId == "SMonce")
            #expect(try await server.database.outboxEntry(messageID: entry.messageId)?.attempts == 1)
        }
    }

    @Test("A claim whose lease ran out is settled unknown by any instance; one still in its lease is not")
    func expiredLease() async throws {
        try await Self.withFakeTwilio { fake, server, client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let due = try await server.database.dueOutbox(now: server.clock.now, limit: 10)
            let entry = try #require(due.first { $0.message.kind == .confirmationRequest }?.entry)
            #expect(try await server.database.claim(entry, owner: "a:8080", now: server.clock.now))
            #expect(try await !server.database.claim(entry, owner: "b:8080", now: server.clock.now))
            let expiry = server.clock.now.addingTimeInterval(OutboxTerms.sendLease)
            #expect(try await server.database.recoverInterruptedSends(now: expiry.addingTimeInterval(-0.001)) == 0)
            #expect(try await server.database.recoverInterruptedSends(now: expiry) == 1)
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.isEmpty)
            #expect(try await Self.confirmation(server).status == .unknown)
        }
    }

    @Test("Quiet hours hold automated messages, in order; staff messages and call follow-ups go at once")
    func quietHours() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        server.clock.advance(hours: 11.5)  // 21:30 in New York
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            _ = try await client.json(
                .post, "/api/v1/conversations/+14155550199/messages", body: #"{"body": "Your x-ray results are in."}"#)
            let (status, _) = try await client.json(
                .post, "/api/v1/events/call-completed", body: #"{"phone": "+14155550188", "summary": "We booked you for Friday."}"#)
            #expect(status == .created)
            try await server.replyline.outbox.runOnce()
            // Two contacts' texts, sent together by one pass: in either order.
            #expect(Set(sender.sent.withLock { $0 }.map(\.kind.rawValue)) == ["manual", "post_call"])
            #expect(
                sender.sent.withLock { $0 }.first { $0.kind == .postCall }?.body
                    == "Bright Smile Dental: thanks for your call. We booked you for Friday. Questions? Call (555) 010-4477. Reply STOP to opt out."
            )
            server.clock.advance(hours: 11.5)  // 9:00 the next morning
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.count == 3)
            #expect(sender.sent.withLock { $0 }.last?.kind == .confirmationRequest)
        }
    }

    @Test("At most two automated messages per contact in ten minutes; the rest wait their turn")
    func cadence() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            for index in 0..<3 {
                _ = try await client.json(
                    .post, "/api/v1/events/call-completed", body: #"{"phone": "+14155550100", "summary": "Call \#(index)."}"#)
            }
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.count == 2)
            server.clock.advance(hours: 5.0 / 60)
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.count == 2)
            server.clock.advance(hours: 6.0 / 60)
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.map(\.body).map { $0.contains("Call 2.") } == [false, false, true])
        }
    }

    @Test("A reminder asks for an answer: an appointment booked while opted out awaits one after the customer opts back in")
    func reminderAwaitsReply() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            try await client.text("STOP", sid: "SM1")
            let (_, created) = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let id = try #require(created["id"] as? String)
            #expect(created["state"] as? String == "scheduled")
            try await client.text("START", sid: "SM2")
            server.clock.advance(hours: 5 * 24 - 1)  // 2026-11-30 9:00 New York: 24 hours before
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.map(\.kind.rawValue) == ["reminder"])
            #expect(try await client.json(.get, "/api/v1/appointments/\(id)").json["state"] as? String == "awaiting_reply")
            #expect(try await client.text("C", sid: "SM3").contains("is confirmed"))
        }
    }

    @Test("Cancelling an appointment cancels its pending reminders")
    func cancelledReminders() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let (_, created) = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            try await client.text("X", sid: "SM1")
            #expect(try await client.json(.get, "/api/v1/appointments/\(created["id"] as! String)").json["state"] as? String == "cancelled")
            _ = try await client.json(.delete, "/api/v1/appointments/\(created["id"] as! String)")
            server.clock.advance(hours: 7 * 24)
            try await server.replyline.outbox.runOnce()
            #expect(sender.sent.withLock { $0 }.map(\.kind.rawValue) == ["confirmation_request"])
        }
    }
}
