import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineCore
import ReplylineServer
import ReplylineStore
import Testing

/// A scripted day of a clinic, against a fake Twilio: bookings, confirmations, replies,
/// reminders, a failure, late and out-of-order callbacks, and an opt-out midway. Every
/// message, status and report figure is checked.
@Suite("A day at the clinic")
struct ClinicDayTests {
    static let ana = "+14155550101"
    static let ben = "+14155550102"
    static let cara = "+14155550103"
    static let dan = "+14155550104"

    func kinds(_ server: TestServer, _ phone: String) async throws -> [String] {
        try #require(try await server.database.thread(businessID: "clinic", phone: phone)).messages.map {
            "\($0.kind.rawValue) \($0.status.rawValue)"
        }
    }

    func sid(_ server: TestServer, _ phone: String, kind: MessageKind) async throws -> String {
        let thread = try #require(try await server.database.thread(businessID: "clinic", phone: phone))
        return try #require(thread.messages.last { $0.kind == kind && $0.providerMessageId != nil }?.providerMessageId)
    }

    @Test("Bookings, replies, reminders, failures and an opt-out end in the messages, statuses and reports a person expects")
    func day() async throws {
        let fake = FakeTwilio()
        try await fake.run { baseURL in
            let server = try await TestServer.sendingThrough(baseURL)
            let outbox = server.replyline.outbox
            try await server.app.test(.router) { client in
                // 10:00 Wednesday Nov 25, New York: three bookings; each gets its request.
                for (phone, name, service, time) in [
                    (Self.ana, "Ana", "Cleaning", "2026-11-26T14:00:00-05:00"), (Self.ben, "Ben", "Filling", "2026-11-26T09:30:00-05:00"),
                    (Self.cara, "Cara", "Checkup", "2026-11-27T11:00:00-05:00"),
                ] {
                    let body = #"{"phone": "\#(phone)", "customer_name": "\#(name)", "service": "\#(service)", "starts_at": "\#(time)"}"#
                    #expect(try await client.json(.post, "/api/v1/appointments", body: body).status == .created)
                }
                try await outbox.runOnce()
                // One pass sends to several contacts at once: in any order between them.
                #expect(Set(fake.received.map { $0["To"] }) == [Self.ana, Self.ben, Self.cara])

                // Callbacks: late, repeated and out of order.
                let anaRequest = try await sid(server, Self.ana, kind: .confirmationRequest)
                let benRequest = try await sid(server, Self.ben, kind: .confirmationRequest)
                let caraRequest = try await sid(server, Self.cara, kind: .confirmationRequest)
                for (sid, status, code) in [
                    (anaRequest, "sent", nil), (anaRequest, "delivered", nil), (benRequest, "delivered", nil), (benRequest, "sent", nil),
                    (caraRequest, "undelivered", "30003"), (caraRequest, "sent", nil), (anaRequest, "delivered", nil),
                ] as [(String, String, String?)] {
                    #expect(try await OutboundTests.callback(client, sid: sid, status: status, errorCode: code) == .noContent)
                }

                // 10:05: Ana confirms, Ben asks to reschedule, staff answer Ben.
                server.clock.advance(hours: 5.0 / 60)
                #expect(
                    try await client.text("C", sid: "SMin1", from: Self.ana).contains("Cleaning on Thu, Nov 26 at 2:00 PM is confirmed"))
                #expect(try await client.text("r", sid: "SMin2", from: Self.ben).contains("new time for your Filling"))
                let (_, inbox) = try await client.json(.get, "/api/v1/conversations?needs_reply=true")
                #expect((inbox["conversations"] as? [[String: Any]])?.map { $0["phone"] as? String } == [Self.ben])
                #expect(
                    try await client.json(
                        .post, "/api/v1/conversations/\(Self.ben)/messages", body: #"{"body": "Would Friday at 10 work?"}"#
                    ).status == .created)
                try await outbox.runOnce()

                // 10:20: Ben opts out; the booking is moved anyway, but nothing more goes to him.
                server.clock.advance(hours: 15.0 / 60)
                #expect(try await client.text("STOP", sid: "SMin3", from: Self.ben).contains("unsubscribed"))
                let benAppointment = try #require(try await server.database.appointments(businessID: "clinic", phone: Self.ben).first?.id)
                let (moved, movedJSON) = try await client.json(
                    .patch, "/api/v1/appointments/\(benAppointment)", body: #"{"starts_at": "2026-11-27T10:00:00-05:00"}"#)
                #expect(moved == .ok)
                #expect(movedJSON["confirmation_message_id"] == nil)

                // 11:00: a call with Dan, and its follow-up.
                server.clock.advance(hours: 40.0 / 60)
                _ = try await client.json(
                    .post, "/api/v1/events/call-completed", body: #"{"phone": "\#(Self.dan)", "summary": "We booked you for Monday at 9."}"#
                )
                try await outbox.runOnce()

                // 14:00: Ana's 24-hour reminder. Thursday 7:00 is quiet: the morning reminders wait for 9:00.
                server.clock.advance(hours: 3)
                try await outbox.runOnce()
                server.clock.advance(hours: 17)
                try await outbox.runOnce()
                let sentAt7 = fake.received.count
                server.clock.advance(hours: 2)
                try await outbox.runOnce()
                #expect(fake.received.count == sentAt7 + 1)  // Ana's morning reminder; Ben's are blocked
                // 11:00 Thursday: Cara's 24-hour reminder.
                server.clock.advance(hours: 2)
                try await outbox.runOnce()

                // Each contact's texts in order; between contacts, a pass sends in any order.
                let texts = Dictionary(grouping: fake.received.map { ($0["To"]!, String($0["Body"]!.prefix(28))) }, by: \.0)
                #expect(
                    texts.mapValues { $0.map(\.1) } == [
                        Self.ana: ["Bright Smile Dental: your Cl", "Bright Smile Dental reminder", "Bright Smile Dental: your Cl"],
                        Self.ben: ["Bright Smile Dental: your Fi", "Would Friday at 10 work?"],
                        Self.cara: ["Bright Smile Dental: your Ch", "Bright Smile Dental reminder"],
                        Self.dan: ["Bright Smile Dental: thanks "],
                    ])
                #expect(
                    try await kinds(server, Self.ana) == [
                        "reminder queued", "reminder queued", "confirmation_request delivered", "inbound received", "reply accepted",
                    ])
                // Booked at 10:00 for 9:30 tomorrow: its 24-hour reminder had passed, so one at 7:00,
                // cancelled by the move to Friday 10:00, whose reminders (Thursday 10:00, Friday
                // 7:00) are blocked when due, as Ben has opted out.
                #expect(
                    try await kinds(server, Self.ben) == [
                        "reminder cancelled", "confirmation_request delivered", "inbound received", "reply accepted",
                        "manual queued", "inbound received", "reply accepted", "reminder blocked", "reminder scheduled",
                    ])
                #expect(try await kinds(server, Self.cara).suffix(1) == ["confirmation_request undelivered"])
                let states = try await [Self.ana, Self.ben, Self.cara].asyncMap {
                    try await server.database.appointments(businessID: "clinic", phone: $0).first!.state
                }
                #expect(states == [.confirmed, .rescheduleRequested, .awaitingReply])

                // Reports for November.
                let (_, usage) = try await client.json(.get, "/api/v1/reports/usage?month=2026-11")
                #expect(usage["messages_sent"] as? Int == 11)  // 8 through the API, 3 TwiML replies
                #expect(usage["messages_received"] as? Int == 3)
                #expect(usage["plan"] == nil)  // self-hosted: no plan, no limit
                #expect(usage["included_messages"] == nil)
                #expect(usage["monthly_limit"] == nil)
                #expect(usage["overage_messages"] as? Int == 0)
                let (_, report) = try await client.json(.get, "/api/v1/reports/deliverability?month=2026-11")
                #expect(report["delivered"] as? Int == 2)
                #expect(report["failed"] as? Int == 1)
                #expect(report["contacts_messaged"] as? Int == 4)
                #expect(report["response_rate"] as? Double == 0.5)  // Ana and Ben answered
                #expect(report["opt_out_rate"] as? Double == 0.25)  // Ben
                let codes = report["error_codes"] as? [[String: Any]]
                #expect(codes?.first?["code"] as? String == "30003")
                #expect(codes?.first?["meaning"] as? String == "unreachable destination handset")
            }

            let metrics = try await server.app.test(.router) { client in
                try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            }
            #expect(metrics.contains(#"replyline_inbound_messages_total{intent="confirm"} 1"#))
            #expect(metrics.contains(#"replyline_outbound_messages_total{result="sent"} 8"#))
            #expect(metrics.contains(#"replyline_outbound_messages_total{result="blocked"} 1"#))
            #expect(metrics.contains(#"replyline_outbound_messages_total{result="deferred"} 1"#))
            #expect(metrics.contains(#"replyline_status_callbacks_total{status="undelivered"} 1"#))
            #expect(metrics.contains("replyline_webhook_duration_seconds_count"))
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
