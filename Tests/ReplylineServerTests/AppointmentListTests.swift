import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReplylineStore
import Testing

@testable import ReplylineServer

/// `GET /api/v1/appointments` (issue 16, item 6).
@Suite("Appointment list")
struct AppointmentListTests {
    /// Books an appointment for the clinic (or `key`'s business) and returns its id.
    static func book(
        _ client: some TestClientProtocol, startsAt: String, phone: String = "+14155550100", service: String = "Checkup",
        key: String = "key-clinic"
    ) async throws -> String {
        let (status, json) = try await client.json(
            .post, "/api/v1/appointments", key: key,
            body: #"{"phone": "\#(phone)", "service": "\#(service)", "starts_at": "\#(startsAt)"}"#)
        #expect(status == .created)
        return try #require(json["id"] as? String)
    }

    static func appointments(_ json: [String: Any]) -> [[String: Any]] { json["appointments"] as? [[String: Any]] ?? [] }
    static func ids(_ json: [String: Any]) -> [String] { appointments(json).compactMap { $0["id"] as? String } }

    @Test("Appointments list by start time, each with its pending confirmation request and reminders and when they go")
    func pendingMessages() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let later = try await Self.book(client, startsAt: "2026-12-03T09:00:00-05:00")
            let sooner = try await Self.book(client, startsAt: "2026-12-01T09:00:00-05:00", phone: "+14155550101")
            let (status, json) = try await client.json(.get, "/api/v1/appointments")
            #expect(status == .ok)
            #expect(Self.ids(json) == [sooner, later])
            #expect(json["next_cursor"] == nil)
            let first = try #require(Self.appointments(json).first)
            #expect(first["phone"] as? String == "+14155550101")
            #expect(first["state"] as? String == "awaiting_reply")
            // Booked on Wed Nov 25 at 10:00 New York: the request goes at once, the reminders
            // 24 hours before (Mon 9:00) and on the morning of the day (Tue 7:00).
            let pending = try #require(first["pending_messages"] as? [[String: Any]])
            #expect(pending.map { $0["kind"] as? String } == ["confirmation_request", "reminder", "reminder"])
            #expect(pending.map { $0["due_at"] as? String } == ["2026-11-25T15:00:00Z", "2026-11-30T14:00:00Z", "2026-12-01T12:00:00Z"])
            #expect(pending.allSatisfy { $0["message_id"] is Int && $0["held_reason"] == nil })

            // Once the request is sent, only the reminders remain pending.
            try await server.replyline.outbox.runOnce()
            let (_, after) = try await client.json(.get, "/api/v1/appointments")
            #expect(
                Self.appointments(after).map { ($0["pending_messages"] as? [[String: Any]])?.map { $0["kind"] as? String } }
                    == [["reminder", "reminder"], ["reminder", "reminder"]])
            // A cancelled appointment has nothing left to send.
            _ = try await client.json(.delete, "/api/v1/appointments/\(sooner)")
            let (_, cancelled) = try await client.json(.get, "/api/v1/appointments?state=cancelled")
            #expect(Self.ids(cancelled) == [sooner])
            #expect((Self.appointments(cancelled).first?["pending_messages"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("state takes one state or several; from is inclusive and to exclusive, on starts_at")
    func filters() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let monday = try await Self.book(client, startsAt: "2026-11-30T09:00:00-05:00")
            let tuesday = try await Self.book(client, startsAt: "2026-12-01T09:00:00-05:00", phone: "+14155550101")
            let wednesday = try await Self.book(client, startsAt: "2026-12-02T09:00:00-05:00", phone: "+14155550102")
            _ = try await client.json(.patch, "/api/v1/appointments/\(tuesday)", body: #"{"state": "confirmed"}"#)
            _ = try await client.json(.delete, "/api/v1/appointments/\(wednesday)")

            for (query, expected) in [
                ("state=confirmed", [tuesday]), ("state=awaiting_reply", [monday]), ("state=confirmed,cancelled", [tuesday, wednesday]),
                ("state=completed", []), ("from=2026-12-01T09:00:00-05:00", [tuesday, wednesday]),
                ("to=2026-12-01T09:00:00-05:00", [monday]), ("from=2026-12-01T00:00:00Z&to=2026-12-02T14:00:00Z", [tuesday]),
                ("from=2026-12-01T14:00:00%2B00:00&to=2026-12-02T14:00:01Z", [tuesday, wednesday]),
                ("state=awaiting_reply,cancelled&from=2026-12-01T00:00:00Z", [wednesday]),
            ] {
                let (status, json) = try await client.json(.get, "/api/v1/appointments?\(query)")
                #expect(status == .ok, "\(query)")
                #expect(Self.ids(json) == expected, "\(query)")
            }
        }
    }

    @Test("Paging by cursor follows starts_at then id: no appointment repeated, none skipped, even at equal times")
    func paging() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            var booked: [String] = []
            for (index, startsAt) in [
                "2026-12-01T09:00:00-05:00", "2026-12-01T09:00:00-05:00", "2026-11-30T15:00:00-05:00", "2026-12-01T09:00:00-05:00",
                "2026-12-04T11:30:00-05:00", "2026-12-01T14:00:00Z",
            ].enumerated() {
                booked.append(try await Self.book(client, startsAt: startsAt, phone: "+1415555020\(index)"))
            }
            let (_, whole) = try await client.json(.get, "/api/v1/appointments")
            #expect(Set(Self.ids(whole)) == Set(booked))
            // The fourth is Monday's; the four at Tuesday 14:00 UTC follow in id order.
            #expect(Self.ids(whole).first == booked[2] && Self.ids(whole).last == booked[4])
            #expect(Array(Self.ids(whole)[1...4]) == [booked[0], booked[1], booked[3], booked[5]].sorted())

            var paged: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = "limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let (status, json) = try await client.json(.get, "/api/v1/appointments?\(query)")
                #expect(status == .ok)
                #expect(Self.ids(json).count <= 2)
                paged += Self.ids(json)
                cursor = json["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(paged == Self.ids(whole))
            #expect(pages == 3)
        }
    }

    @Test("Each key lists only its business's appointments")
    func tenantIsolation() async throws {
        let server = try await TestServer.twoBusinesses()
        try await server.app.test(.router) { client in
            let clinic = try await Self.book(client, startsAt: "2026-12-01T09:00:00-05:00")
            let salon = try await Self.book(client, startsAt: "2026-12-01T10:00:00-06:00", service: "Cut", key: "key-salon")
            let (_, clinicList) = try await client.json(.get, "/api/v1/appointments")
            #expect(Self.ids(clinicList) == [clinic])
            let (_, salonList) = try await client.json(.get, "/api/v1/appointments?state=awaiting_reply", key: "key-salon")
            #expect(Self.ids(salonList) == [salon])
            // Another business's cursor lists nothing of that business either.
            let (_, page) = try await client.json(.get, "/api/v1/appointments?limit=1", key: "key-salon")
            #expect(Self.ids(page) == [salon] && page["next_cursor"] == nil)
            #expect(try await client.json(.get, "/api/v1/appointments", key: "wrong-key").status == .unauthorized)
        }
    }

    @Test(
        "Bad query parameters are 400 naming the parameter",
        arguments: [
            ("state=bogus", "state"), ("state=", "state"), ("state=confirmed,,cancelled", "state"), ("from=yesterday", "from"),
            ("from=2026-12-01T09:00:00", "from"), ("to=2026-13-01T09:00:00Z", "to"),
            ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "to"), ("limit=0", "limit"), ("limit=201", "limit"),
            ("cursor=bogus", "cursor"), ("cursor=YzoxOjE", "cursor"),
        ])
    func badQueries(query: String, parameter: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let (status, json) = try await client.json(.get, "/api/v1/appointments?\(query)")
            #expect(status == .badRequest)
            #expect(InboxTests.errorField(json) == parameter)
            #expect(InboxTests.errorCode(json) == "invalid_parameter")
        }
    }
}
