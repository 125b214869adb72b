import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineCore
import ReplylineServer
import ReplylineStore
import Testing

/// Status callbacks change only messages of the business they belong to: same account,
/// same sending number; the rest are ignored with a warning and a 204.
@Suite("Status callbacks and their business")
struct StatusCallbackOwnerTests {
    static let clinicAccount = "AC11111111111111111111111111111111"
    static let salonAccount = "AC22222222222222222222222222222222"
    static let booking =
        #"{"phone": "+14155550100", "customer_name": "Ana", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#

    /// The clinic (account from TWILIO_ACCOUNT_SID) and the salon (its own `account_sid`),
    /// sending through a stand-in for Twilio that names each message `SMout<id>`.
    static func server() async throws -> TestServer {
        try await TestServer(
            configure: { configuration in
                configuration.twilioAccountSID = clinicAccount
                let salon = try RulesLoader.load(contentsOf: Repository.rules.appendingPathComponent("salon.yml"))
                configuration.businesses.append(
                    BusinessConfiguration(
                        id: "salon", rules: salon, numbers: [TestServer.salonNumber], apiKey: "key-salon", accountSID: salonAccount))
            }, sender: TwilioStandIn())
    }

    /// Posts a signed status callback, as Twilio would.
    static func callback(
        _ client: some TestClientProtocol, sid: String, status: String, account: String, from: String?, errorCode: String? = nil
    ) async throws -> HTTPResponse.Status {
        var parameters: [(name: String, value: String)] = [
            ("AccountSid", account), ("MessageSid", sid), ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status),
            ("To", "+14155550100"),
        ]
        if let from { parameters.append(("From", from)) }
        if let errorCode { parameters.append(("ErrorCode", errorCode)) }
        let (headers, body) = TestServer.inbound(parameters, path: "/webhooks/twilio/status")
        return try await client.execute(uri: "/webhooks/twilio/status", method: .post, headers: headers, body: body) { $0.status }
    }

    /// The clinic's confirmation request to Ana.
    static func confirmation(_ server: TestServer, business: String = "clinic") async throws -> (StoredMessage, StoredContact) {
        let thread = try #require(try await server.database.thread(businessID: business, phone: "+14155550100"))
        return (try #require(thread.messages.first { $0.kind == .confirmationRequest }), thread.contact)
    }

    @Test("A callback with another business's account or number changes nothing (no failure, no opt-out) and is answered 204")
    func knownMessage() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            let (sent, _) = try await Self.confirmation(server)
            let sid = try #require(sent.providerMessageId)
            for (account, from) in [
                (Self.salonAccount, TestServer.business), (Self.clinicAccount, TestServer.salonNumber),
                (Self.salonAccount, TestServer.salonNumber), (Self.salonAccount, nil),
            ] {
                let status = try await Self.callback(client, sid: sid, status: "failed", account: account, from: from, errorCode: "21610")
                #expect(status == .noContent)
            }
            let (message, contact) = try await Self.confirmation(server)
            #expect(message.status == sent.status)
            #expect(contact.consent == .optedIn)
            #expect(try await server.database.consentEvents(businessID: "clinic", phone: "+14155550100").isEmpty)

            // The clinic's own callback, with or without From, still applies.
            #expect(try await Self.callback(client, sid: sid, status: "sent", account: Self.clinicAccount, from: nil) == .noContent)
            #expect(try await Self.confirmation(server).0.status == .sent)
            let status = try await Self.callback(
                client, sid: sid, status: "delivered", account: Self.clinicAccount, from: "+1 501 712 2661")
            #expect(status == .noContent)
            #expect(try await Self.confirmation(server).0.status == .delivered)
        }
    }

    @Test("A callback naming our message id in its URL cannot claim another business's message")
    func namedByURL() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let (message, _) = try await Self.confirmation(server)
            var parameters: [(name: String, value: String)] = [
                ("AccountSid", Self.salonAccount), ("From", TestServer.salonNumber), ("MessageSid", "SMforeign"),
                ("MessageStatus", "failed"), ("ErrorCode", "21610"),
            ]
            let path = "/webhooks/twilio/status?m=\(message.id!)"
            var (headers, body) = TestServer.inbound(parameters, path: path)
            #expect(try await client.execute(uri: path, method: .post, headers: headers, body: body) { $0.status } == .noContent)
            var (after, contact) = try await Self.confirmation(server)
            #expect(after.providerMessageId == nil)
            #expect(after.status == message.status)
            #expect(contact.consent == .optedIn)

            parameters[0].value = Self.clinicAccount
            parameters[1].value = TestServer.business
            (headers, body) = TestServer.inbound(parameters, path: path)
            #expect(try await client.execute(uri: path, method: .post, headers: headers, body: body) { $0.status } == .noContent)
            (after, contact) = try await Self.confirmation(server)
            #expect(after.providerMessageId == "SMforeign")
            #expect(contact.consent == .optedOut)
        }
    }

    @Test("A held callback is checked when it arrives and applies only to a message of its business sent from its number")
    func heldCallbacks() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let (queued, _) = try await Self.confirmation(server)
            let sid = "SMout\(queued.id!)"  // what the recorder will name it
            // The clinic's number with the salon's account: ignored at once.
            var status = try await Self.callback(
                client, sid: sid, status: "failed", account: Self.salonAccount, from: TestServer.business, errorCode: "21610")
            #expect(status == .noContent)
            // The salon's own account and number: held for the salon, never applied to the clinic's message.
            status = try await Self.callback(
                client, sid: sid, status: "undelivered", account: Self.salonAccount, from: TestServer.salonNumber, errorCode: "21610")
            #expect(status == .noContent)
            try await server.replyline.outbox.runOnce()
            let (message, contact) = try await Self.confirmation(server)
            #expect(message.providerMessageId == sid)
            #expect(message.status == .queued)
            #expect(contact.consent == .optedIn)
        }
    }

    @Test("A held callback of the business's own account and number applies when its message is sent")
    func heldCallbackApplies() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let (queued, _) = try await Self.confirmation(server)
            let status = try await Self.callback(
                client, sid: "SMout\(queued.id!)", status: "delivered", account: Self.clinicAccount, from: TestServer.business)
            #expect(status == .noContent)
            try await server.replyline.outbox.runOnce()
            #expect(try await Self.confirmation(server).0.status == .delivered)
        }
    }

    @Test("A held 21610 callback keeps its opt-out until its message is sent, then records it")
    func heldOptOutApplies() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let (queued, _) = try await Self.confirmation(server)
            let status = try await Self.callback(
                client, sid: "SMout\(queued.id!)", status: "failed", account: Self.clinicAccount, from: TestServer.business,
                errorCode: "21610")
            #expect(status == .noContent)
            #expect(try await Self.confirmation(server).1.consent == .optedIn)
            try await server.replyline.outbox.runOnce()
            let (message, contact) = try await Self.confirmation(server)
            #expect(message.status == .failed && message.errorCode == "21610")
            #expect(contact.consent == .optedOut)
            let ledger = try await server.database.consentEvents(businessID: "clinic", phone: contact.phone)
            #expect(ledger.map(\.source) == [.provider])
        }
    }

    @Test("With no account configured anywhere, the number alone decides")
    func noAccountConfigured() async throws {
        let server = try await TestServer(sender: TwilioStandIn())
        try await server.app.test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await server.replyline.outbox.runOnce()
            let sid = try #require(try await Self.confirmation(server).0.providerMessageId)
            _ = try await Self.callback(client, sid: sid, status: "delivered", account: Self.salonAccount, from: "+13125550199")
            #expect(try await Self.confirmation(server).0.status == .queued)
            _ = try await Self.callback(client, sid: sid, status: "delivered", account: Self.salonAccount, from: TestServer.business)
            #expect(try await Self.confirmation(server).0.status == .delivered)
        }
    }

    @Test("An ignored callback logs a warning naming its sid and what did not match; an applied one logs its new status")
    func logLines() async throws {
        let server = try await Self.server()
        let log = LogCapture()
        let replyline = try AppServices(
            server.replyline.configuration, store: server.database, sender: TwilioStandIn(), logger: log.logger)
        try await buildApplication(replyline).test(.router) { client in
            _ = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            try await replyline.outbox.runOnce()
            let sid = try #require(try await Self.confirmation(server).0.providerMessageId)
            _ = try await Self.callback(client, sid: sid, status: "failed", account: Self.salonAccount, from: TestServer.business)
            _ = try await Self.callback(client, sid: sid, status: "delivered", account: Self.clinicAccount, from: TestServer.business)
        }
        let warning = try #require(log.entries.first { $0.level == .warning })
        #expect(warning.metadata["sid"]?.hasPrefix("SMout") == true)
        #expect(warning.metadata["business"] == "clinic")
        #expect(warning.metadata["reason"]?.contains("is not the account of business clinic") == true)
        #expect(!log.entries.contains { "\($0.metadata)".contains(TestServer.token) })
        let applied = try #require(log.entries.first { $0.message == "twilio status callback" })
        #expect(applied.metadata["status"] == "delivered")
        #expect(applied.metadata["business"] == "clinic")
    }

    @Test("`account_sid` in the config file is the business's expected account")
    func configFile() throws {
        let folder = try TemporaryDirectory()
        let config = folder.url.appendingPathComponent("replyline.yml")
        try """
        businesses:
          - id: north
            rules: \(Repository.rules.appendingPathComponent("default.yml").path)
            numbers: ["+15550001111"]
            account_sid: \(Self.salonAccount)
          - id: south
            rules: \(Repository.rules.appendingPathComponent("default.yml").path)
        """.write(to: config, atomically: true, encoding: .utf8)
        let businesses = try Deployment.businesses(configPath: config.path, environment: [:])
        #expect(businesses.map(\.accountSID) == [Self.salonAccount, nil])
        let typo = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: Self.salonAccount, with: "AX12")
        try typo.write(to: config, atomically: true, encoding: .utf8)
        do {
            _ = try Deployment.businesses(configPath: config.path, environment: [:])
            Issue.record("an account_sid that is not one was accepted")
        } catch {
            #expect("\(error)".contains("business north: account_sid `AX12` is not a Twilio account SID"), "\(error)")
        }
    }
}

/// Sends nothing, as if Twilio had taken each message and named it `SMout<id>`; its
/// messages are Twilio's, so Twilio's status callbacks find them.
struct TwilioStandIn: MessageSender {
    let name = "twilio"

    func send(_ message: StoredMessage) async -> SendResult {
        .sent(providerMessageID: "SMout\(message.id?.rawValue ?? 0)", status: .queued)
    }
}
