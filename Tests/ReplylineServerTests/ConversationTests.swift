import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineCore
import ReplylineServer
import ReplylineStore
import Testing

/// SPEC §3 through the real webhook: each test texts the app as a customer would.
@Suite("Keyword state machine over the webhook")
struct ConversationTests {
    static let auth: HTTPFields = [.authorization: "Bearer key-clinic", .contentType: "application/json"]

    /// Sends texts in order and returns the message of each reply (nil for `<Response/>`).
    static func text(_ client: some TestClientProtocol, _ bodies: [String], from phone: String = "+14155550100", first: Int = 1)
        async throws -> [String?]
    {
        var replies: [String?] = []
        for (offset, body) in bodies.enumerated() {
            let (headers, form) = TestServer.inbound(TestServer.sms("SM\(first + offset)", from: phone, body: body))
            let xml = try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            let open = xml.range(of: "<Message>")
            let close = xml.range(of: "</Message>")
            replies.append(open.flatMap { open in close.map { String(xml[open.upperBound..<$0.lowerBound]) } })
        }
        return replies
    }

    static func book(_ client: some TestClientProtocol, service: String, startsAt: String, phone: String = "+14155550100") async throws
        -> String
    {
        let body = #"{"phone": "\#(phone)", "customer_name": "Ana", "service": "\#(service)", "starts_at": "\#(startsAt)"}"#
        return try await client.execute(uri: "/api/v1/appointments", method: .post, headers: auth, body: ByteBuffer(string: body)) {
            response in
            let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
            return json["id"] as! String
        }
    }

    static func state(_ server: TestServer, _ id: String) async throws -> AppointmentState? {
        try await server.database.appointment(id: id, businessID: "clinic")?.0.state
    }

    @Test(
        "Every keyword spelling of the shipped rules reaches its intent",
        arguments: [
            ("C", "is confirmed"), ("confirm", "is confirmed"), ("Y", "is confirmed"), ("yes", "is confirmed"),
            ("R", "new time"), ("Reschedule", "new time"), ("CANCEL", "is cancelled"), ("x", "is cancelled"),
            ("STOP", "unsubscribed"), ("stopall", "unsubscribed"), ("STOP ALL", "unsubscribed"), ("unsubscribe", "unsubscribed"),
            ("END", "unsubscribed"), ("Quit", "unsubscribed"), ("revoke", "unsubscribed"), ("OPTOUT", "unsubscribed"),
            ("opt out", "unsubscribed"), ("Opt-Out", "unsubscribed"), ("remove", "unsubscribed"), ("ARRET", "unsubscribed"),
            ("HELP", "Msg&amp;data rates may apply"), ("info", "Msg&amp;data rates may apply"), ("hours", "Mon-Fri"),
            ("ADDRESS", "Main St"),
            ("START", "resubscribed"), ("unstop", "resubscribed"),
        ])
    func spelling(word: String, expected: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            _ = try await Self.book(client, service: "Cleaning", startsAt: "2026-11-27T14:00:00-05:00")
            let reply = try await Self.text(client, [word]).first!
            #expect(reply?.contains(expected) == true, "\(word) got \(reply ?? "nothing")")
        }
    }

    @Test("C acts on the soonest appointment awaiting an answer, not a sooner confirmed one")
    func whichAppointment() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let soon = try await Self.book(client, service: "Checkup", startsAt: "2026-11-26T09:00:00-05:00")
            _ = try await Self.text(client, ["C"])
            let later = try await Self.book(client, service: "Whitening", startsAt: "2026-12-03T09:00:00-05:00")
            let reply = try await Self.text(client, ["C"], first: 2).first!
            #expect(reply?.contains("Whitening on Thu, Dec 3 at 9:00 AM") == true)
            #expect(try await Self.state(server, soon) == .confirmed)
            #expect(try await Self.state(server, later) == .confirmed)
        }
    }

    @Test("A past appointment is not acted on; the reply says there is none upcoming")
    func pastAppointment() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let id = try await Self.book(client, service: "Checkup", startsAt: "2026-11-25T11:00:00-05:00")
            server.clock.advance(hours: 3)
            let reply = try await Self.text(client, ["C"]).first!
            #expect(reply?.contains("couldn't find an upcoming appointment") == true)
            #expect(try await Self.state(server, id) == .awaitingReply)
        }
    }

    @Test("A cancelled appointment is not confirmed by C, and staff are asked to look")
    func cancelledThenConfirm() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let id = try await Self.book(client, service: "Checkup", startsAt: "2026-11-27T09:00:00-05:00")
            let replies = try await Self.text(client, ["X", "C"])
            #expect(replies[1]?.contains("was cancelled, so it can't be changed by text") == true)
            #expect(try await Self.state(server, id) == .cancelled)
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
            #expect(thread.conversation.needsReply)
        }
    }

    @Test("Opt-out wins: after STOP only HELP and the opt-in confirmation are sent, and appointments still move")
    func optOutIsSticky() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let id = try await Self.book(client, service: "Checkup", startsAt: "2026-11-27T09:00:00-05:00")
            let replies = try await Self.text(client, ["STOP", "C", "hours", "hello?", "STOP", "R", "HELP", "START"])
            #expect(replies[0]?.contains("unsubscribed") == true)
            #expect(replies[1...5].allSatisfy { $0 == nil })
            #expect(replies[6]?.contains("Msg&amp;data") == true)
            #expect(replies[7]?.contains("resubscribed") == true)
            #expect(try await Self.state(server, id) == .rescheduleRequested)
            let ledger = try await server.database.consentEvents(businessID: "clinic", phone: "+14155550100")
            #expect(ledger.map(\.toState) == [.optedOut, .optedIn])
            #expect(ledger.map(\.messageId) == ["SM1", "SM8"])
            #expect(ledger.allSatisfy { $0.source == .keyword })
        }
    }

    @Test("A free-text revocation opts out as inferred and flags the conversation")
    func inferredRevocation() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let replies = try await Self.text(client, ["Please stop texting me"])
            #expect(replies[0]?.contains("unsubscribed") == true)
            let ledger = try await server.database.consentEvents(businessID: "clinic", phone: "+14155550100")
            #expect(ledger.map(\.source) == [.inferred])
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
            #expect(thread.conversation.needsReply)
            #expect(thread.conversation.staffFlag?.contains("inferred opt-out") == true)
        }
    }

    @Test("Twilio's own opt-out handling is recorded with source provider and answered with nothing")
    func providerConsent() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let (headers, form) = TestServer.inbound(TestServer.sms("SMp1", body: "STOP") + [("OptOutType", "STOP")])
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) { response in
                #expect(String(buffer: response.body).hasSuffix("<Response/>"))
            }
            let ledger = try await server.database.consentEvents(businessID: "clinic", phone: "+14155550100")
            #expect(ledger.map(\.source) == [.provider])
            #expect(ledger.first?.messageId == "SMp1")
        }
    }

    @Test("An auto-responder that answers every reply gets one acknowledgement, not an endless exchange")
    func noLoop() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let replies = try await Self.text(client, (0..<10).map { "I'm driving right now, I'll text you later (\($0))" })
            #expect(replies.compactMap { $0 }.count == 1)
            server.clock.advance(hours: 25)
            #expect(try await Self.text(client, ["I'm driving right now"], first: 11).first! != nil)
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
            #expect(thread.conversation.unreadCount == 11)
            #expect(thread.conversation.needsReply)
        }
    }
}
