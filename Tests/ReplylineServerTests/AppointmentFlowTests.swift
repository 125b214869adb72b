import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineServer
import Testing

@Suite("Appointments end to end")
struct AppointmentFlowTests {
    static let auth: HTTPFields = [.authorization: "Bearer key-clinic", .contentType: "application/json"]

    @Test("An appointment is created, its confirmation request sent, and a signed C confirms it")
    func createAndConfirm() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let body =
                #"{"phone": "(415) 555-0100", "customer_name": "Ana Lima", "service": "Teeth cleaning", "starts_at": "2026-11-27T14:00:00-05:00", "amount": 120}"#
            let id = try await client.execute(
                uri: "/api/v1/appointments", method: .post, headers: Self.auth, body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .created)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                #expect(json["state"] as? String == "awaiting_reply")
                #expect(json["phone"] as? String == "+14155550100")
                #expect(json["starts_at"] as? String == "2026-11-27T19:00:00Z")
                #expect(json["amount"] as? Double == 120)
                return try #require(json["id"] as? String)
            }

            #expect(try await server.replyline.outbox.runOnce() == 1)
            let sent = sender.sent.withLock { $0 }
            #expect(
                sent.map(\.body) == [
                    "Bright Smile Dental: your Teeth cleaning is on Fri, Nov 27 at 2:00 PM. Reply C to confirm or R to reschedule. Reply STOP to opt out."
                ])
            #expect(sent.first?.toNumber == "+14155550100")
            #expect(try await server.replyline.outbox.runOnce() == 0)

            let (headers, form) = TestServer.inbound(TestServer.sms("SM0001", body: "c"))
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/xml; charset=utf-8")
                #expect(
                    String(buffer: response.body)
                        == #"<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks Ana Lima, your Teeth cleaning on Fri, Nov 27 at 2:00 PM is confirmed. See you then!</Message></Response>"#
                )
            }
            try await client.execute(uri: "/api/v1/appointments/\(id)", method: .get, headers: Self.auth) { response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                #expect(json["state"] as? String == "confirmed")
            }
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
            let conversation = thread.messages.filter { $0.kind != .reminder }
            #expect(conversation.map(\.kind.rawValue) == ["confirmation_request", "inbound", "reply"])
            #expect(conversation[0].status == .queued)
            #expect(conversation[0].providerMessageId?.hasPrefix("SMout") == true)
            #expect(conversation[1].appointmentId == id)
            // Reminders wait in the outbox: 24 hours before, and 7:00 on the day (New York).
            let reminders = thread.messages.filter { $0.kind == .reminder }
            #expect(reminders.map(\.status.rawValue) == ["scheduled", "scheduled"])
        }
    }

    @Test("An opted-out contact's appointment gets no confirmation request")
    func optedOutGetsNothing() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let (headers, form) = TestServer.inbound(TestServer.sms("SM0002", body: "STOP"))
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form)
            let body = #"{"phone": "+14155550100", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#
            try await client.execute(uri: "/api/v1/appointments", method: .post, headers: Self.auth, body: ByteBuffer(string: body)) {
                response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                #expect(json["state"] as? String == "scheduled")
                #expect(json["confirmation_message_id"] == nil)
            }
            #expect(try await server.replyline.outbox.runOnce() == 0)
            #expect(sender.sent.withLock { $0 }.isEmpty)
        }
    }

    @Test("Consent is checked again at send time: a STOP between queueing and sending blocks the message")
    func blockedAtSendTime() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let body = #"{"phone": "+14155550100", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#
            try await client.execute(uri: "/api/v1/appointments", method: .post, headers: Self.auth, body: ByteBuffer(string: body))
            let (headers, form) = TestServer.inbound(TestServer.sms("SM0003", body: "STOP"))
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form)
            #expect(try await server.replyline.outbox.runOnce() == 1)
            #expect(sender.sent.withLock { $0 }.isEmpty)
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
            let request = try #require(thread.messages.first { $0.kind == .confirmationRequest })
            #expect(request.status == .blocked)
            #expect(request.errorMessage == "contact opted out")
        }
    }

    @Test(
        "Invalid appointments are refused with the field at fault and change nothing",
        arguments: [
            (#"{"service": "x", "starts_at": "2026-12-01T09:00:00-05:00"}"#, "phone"),
            (#"{"phone": "hello", "service": "x", "starts_at": "2026-12-01T09:00:00-05:00"}"#, "phone"),
            (#"{"phone": "+14155550100", "starts_at": "2026-12-01T09:00:00-05:00"}"#, "service"),
            (#"{"phone": "+14155550100", "service": "x", "starts_at": "2026-12-01T09:00:00"}"#, "starts_at"),
            (#"{"phone": "+14155550100", "service": "x", "starts_at": "tomorrow"}"#, "starts_at"),
            (#"{"phone": "+14155550100", "service": "x", "starts_at": "2020-12-01T09:00:00-05:00"}"#, "starts_at"),
            (#"{"phone": "+14155550100", "service": "x", "starts_at": "2026-12-01T09:00:00-05:00", "amount": -5}"#, "amount"),
            (#"{"phone": "+14155550100", "service": "x", "starts_at": "2026-12-01T09:00:00-05:00", "amount": "lots"}"#, "amount"),
            (#"{"phone": "+14155550100", "service": "x", "starts_at": "2026-12-01T09:00:00-05:00", "colour": "red"}"#, "colour"),
        ])
    func validation(body: String, field: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/appointments", method: .post, headers: Self.auth, body: ByteBuffer(string: body)) {
                response in
                #expect(response.status == .unprocessableContent)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: [String: Any]]
                #expect(json["error"]?["field"] as? String == field)
                #expect((json["error"]?["message"] as? String)?.isEmpty == false)
            }
        }
        #expect(try await server.database.tableCounts().values.allSatisfy { $0 == 0 })
    }

    @Test("Malformed JSON is 400 and a missing or wrong key is 401")
    func badRequests() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/appointments", method: .post, headers: Self.auth, body: ByteBuffer(string: "{nope")) {
                response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/appointments/apt_1", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("Authorization: Bearer"))
            }
            try await client.execute(uri: "/api/v1/appointments/apt_1", method: .get, headers: [.authorization: "Bearer key-clinicX"]) {
                response in
                #expect(response.status == .unauthorized)
                #expect(!String(buffer: response.body).contains("key-clinic"))
            }
            try await client.execute(uri: "/api/v1/appointments/apt_404", method: .get, headers: Self.auth) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
