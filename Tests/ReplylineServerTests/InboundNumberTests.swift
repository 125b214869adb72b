import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ReplylineServer
import ReplylineStore
import Testing

/// Inbound numbers and media as providers really send them: numbers without `+`, channel
/// addresses, and media URLs that are not web links.
@Suite("Inbound numbers and media")
struct InboundNumberTests {
    /// Posts signed `parameters` to the inbound webhook and returns the status and body.
    static func post(
        _ client: some TestClientProtocol, _ parameters: [(name: String, value: String)]
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        let (headers, body) = TestServer.inbound(parameters)
        return try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: body) {
            ($0.status, String(buffer: $0.body))
        }
    }

    @Test("STOP from a national number opts out the E.164 contact, and staff sends to it are refused")
    func nationalFromOptsOut() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let answer = try await Self.post(client, TestServer.sms("SMnational", from: "4155553040", body: "STOP"))
            #expect(answer.status == .ok)
            #expect(answer.body.contains("unsubscribed"))
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155553040"))
            #expect(thread.contact.consent == .optedOut)
            #expect(thread.messages.map(\.fromNumber).first == "+14155553040")
            let send = try await client.json(.post, "/api/v1/conversations/+14155553040/messages", body: #"{"body": "Hello"}"#)
            #expect(send.status == .conflict)
            // The same person typing START with the +1 is the same contact.
            try await client.text("START", sid: "SMnational2", from: "+1 (415) 555-3040")
            #expect(try await server.database.thread(businessID: "clinic", phone: "+14155553040")?.contact.consent == .optedIn)
        }
    }

    @Test(
        "A From or To that is not a phone number is refused with 400 naming it, and nothing is stored",
        arguments: [
            ("From", "abc", "Invalid parameter From: `abc` is not a phone number"),
            ("From", "555-1234", "Invalid parameter From"),
            ("To", "not-a-number", "Invalid parameter To: `not-a-number` is not a phone number"), ("To", "+1 501", "Invalid parameter To"),
            ("From", "whatsapp:+14155550100", "Parameter From is a whatsapp: address, but Replyline handles SMS and MMS only"),
            ("To", "whatsapp:+15017122661", "Parameter To is a whatsapp: address"),
            ("From", "messenger:1234567890", "Parameter From is a messenger: address"),
        ])
    func refusedNumbers(parameter: String, value: String, expected: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let before = try await server.database.tableCounts()
            var parameters = TestServer.sms("SMbad", body: "STOP")
            parameters = parameters.map { $0.name == parameter ? ($0.name, value) : $0 }
            let answer = try await Self.post(client, parameters)
            #expect(answer.status == .badRequest)
            #expect(answer.body.hasPrefix(expected), "\(answer.body)")
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test("To written as digits with the country code, as other providers send it, reaches its business and is stored in E.164")
    func toWithoutPlus() async throws {
        let server = try await TestServer.twoBusinesses()
        try await server.app.test(.router) { client in
            let answer = try await Self.post(client, TestServer.sms("SMdigits", to: "13125550148", body: "hours"))
            #expect(answer.status == .ok)
            let thread = try #require(try await server.database.thread(businessID: "salon", phone: "+14155550100"))
            #expect(thread.messages.map(\.toNumber).first == "+13125550148")
            #expect(try await server.database.thread(businessID: "clinic", phone: "+14155550100") == nil)
        }
    }

    @Test("A short code To is kept as sent: it reaches the business whose Messaging Service received it, else no business")
    func shortCode() async throws {
        let server = try await TestServer.twoBusinesses()
        try await server.app.test(.router) { client in
            let unknown = try await Self.post(client, TestServer.sms("SMshort1", to: "12345", body: "hours"))
            #expect(unknown.status == .notFound)
            #expect(unknown.body.hasPrefix("No business receives texts on 12345."))
            let answer = try await Self.post(
                client, TestServer.sms("SMshort2", to: "12345", body: "hours") + [("MessagingServiceSid", "MGsalon")])
            #expect(answer.status == .ok)
            let thread = try #require(try await server.database.thread(businessID: "salon", phone: "+14155550100"))
            #expect(thread.messages.map(\.toNumber).first == "12345")
        }
    }

    @Test("Only http(s) media URLs are kept; the others are dropped with a notice naming the message and the parameter")
    func mediaURLs() async throws {
        let server = try await TestServer()
        let log = LogCapture()
        let replyline = try AppServices(server.replyline.configuration, store: server.database, logger: log.logger)
        let media = [
            "javascript:alert(1)", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "data:text/html,<b>x</b>",
            "http://cdn.example.com/a.png", "https://", "/relative/path.png", "https://x.example/a\u{7}b", "file:///etc/passwd",
        ]
        var parameters = TestServer.sms("MMmedia", body: "my card").filter { $0.name != "NumMedia" }
        parameters.append(("NumMedia", "\(media.count)"))
        for (index, url) in media.enumerated() {
            parameters += [("MediaUrl\(index)", url), ("MediaContentType\(index)", "image/png")]
        }
        let form = parameters
        try await buildApplication(replyline).test(.router) { client in
            let answer = try await Self.post(client, form)
            #expect(answer.status == .ok)
        }
        let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
        #expect(thread.messages.first?.media.map(\.url) == [media[1], media[3]])
        let notice = try #require(log.entries.first { $0.level == .notice })
        #expect(notice.metadata["sid"] == "MMmedia")
        #expect(notice.metadata["parameters"] == "MediaUrl0,MediaUrl2,MediaUrl4,MediaUrl5,MediaUrl6,MediaUrl7")
    }

    @Test("Each inbound message logs one info line with its sid, business and outcome, and never its body")
    func inboundLogLine() async throws {
        let server = try await TestServer()
        let log = LogCapture()
        let replyline = try AppServices(server.replyline.configuration, store: server.database, logger: log.logger)
        try await buildApplication(replyline).test(.router) { client in
            try await client.text("my secret question", sid: "SMlog1")
            try await client.text("my secret question", sid: "SMlog1")
        }
        let lines = log.entries.filter { $0.level == .info }
        #expect(lines.map { $0.metadata["outcome"] } == ["conversation", "duplicate"])
        #expect(lines.allSatisfy { $0.metadata["sid"] == "SMlog1" && $0.metadata["business"] == "clinic" })
        #expect(!log.entries.filter { $0.level > .debug }.contains { "\($0.message) \($0.metadata)".contains("secret") })
    }
}
