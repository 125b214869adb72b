import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineStore
import Testing

@testable import ReplylineServer

@Suite("Inbox API")
struct InboxTests {
    static func errorField(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["field"] as? String }
    static func errorCode(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["code"] as? String }

    @Test("Each key sees only its business: another business's data is 404 through every endpoint")
    func tenantIsolation() async throws {
        let server = try await TestServer.twoBusinesses()
        try await server.app.test(.router) { client in
            try await client.text("Hello clinic", sid: "SM1", from: "+14155550100")
            try await client.text("Hello salon", sid: "SM2", from: "+14155550200", to: TestServer.salonNumber)
            let (_, booked) = try await client.json(
                .post, "/api/v1/appointments", key: "key-salon",
                body: #"{"phone": "+14155550200", "service": "Cut", "starts_at": "2026-12-01T10:00:00-06:00"}"#)
            let salonAppointment = try #require(booked["id"] as? String)

            let (_, clinicList) = try await client.json(.get, "/api/v1/conversations")
            #expect((clinicList["conversations"] as? [[String: Any]])?.map { $0["phone"] as? String } == ["+14155550100"])
            let (_, salonList) = try await client.json(.get, "/api/v1/conversations", key: "key-salon")
            #expect((salonList["conversations"] as? [[String: Any]])?.map { $0["phone"] as? String } == ["+14155550200"])

            let salonPhone = "%2B14155550200"
            for (method, uri, body) in [
                (HTTPRequest.Method.get, "/api/v1/conversations/\(salonPhone)", nil),
                (.get, "/api/v1/conversations/\(salonPhone)/messages", nil),
                (.post, "/api/v1/conversations/\(salonPhone)/read", nil),
                (.get, "/api/v1/contacts/\(salonPhone)/consent", nil),
                (.get, "/api/v1/appointments/\(salonAppointment)", nil),
                (.patch, "/api/v1/appointments/\(salonAppointment)", #"{"state": "completed"}"#),
                (.delete, "/api/v1/appointments/\(salonAppointment)", nil),
            ] as [(HTTPRequest.Method, String, String?)] {
                let (status, json) = try await client.json(method, uri, body: body)
                #expect(status == .notFound, "\(method) \(uri) gave \(status)")
                #expect(!"\(json)".contains("Hello salon") && !"\(json)".contains("Cut"))
            }
            #expect(try await server.database.appointment(id: salonAppointment, businessID: "salon")?.0.state == .awaitingReply)
            let salonThread = try #require(try await server.database.thread(businessID: "salon", phone: "+14155550200"))
            #expect(salonThread.conversation.unreadCount == 1)
        }
    }

    @Test("Inbound texts route by Messaging Service first, then by To")
    func routing() async throws {
        let server = try await TestServer.twoBusinesses()
        try await server.app.test(.router) { client in
            let viaService = TestServer.inbound(
                TestServer.sms("SMsvc", from: "+14155550300", body: "hours") + [("MessagingServiceSid", "MGsalon")])
            let reply = try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: viaService.0, body: viaService.1)
            {
                String(buffer: $0.body)
            }
            #expect(reply.contains("A stylist will text you back"))
            #expect(try await server.database.thread(businessID: "salon", phone: "+14155550300") != nil)
            #expect(try await server.database.thread(businessID: "clinic", phone: "+14155550300") == nil)
        }
    }

    @Test("Conversations list newest activity first with preview, counts, flags and consent")
    func listing() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("Is parking free?", sid: "SM1", from: "+14155550101")
            server.clock.advance(hours: 1)
            try await client.text("STOP", sid: "SM2", from: "+14155550102")
            server.clock.advance(hours: 1)
            try await client.text("hours", sid: "SM3", from: "+14155550103")
            let (status, json) = try await client.json(.get, "/api/v1/conversations")
            #expect(status == .ok)
            let rows = try #require(json["conversations"] as? [[String: Any]])
            #expect(rows.map { $0["phone"] as? String } == ["+14155550103", "+14155550102", "+14155550101"])
            #expect(rows[1]["consent"] as? String == "opted_out")
            #expect(
                rows[0]["last_message_preview"] as? String
                    == "Bright Smile Dental is open Mon-Fri 8am-6pm and Sat 9am-1pm. Call (555) 010-4477 to book.")
            #expect(rows.map { $0["unread_count"] as? Int } == [1, 1, 1])
            #expect(rows.map { $0["needs_reply"] as? Bool } == [false, false, true])
            #expect(json["next_cursor"] == nil)
            let (_, filtered) = try await client.json(.get, "/api/v1/conversations?needs_reply=true")
            #expect((filtered["conversations"] as? [[String: Any]])?.map { $0["phone"] as? String } == ["+14155550101"])
            _ = try await client.json(.post, "/api/v1/conversations/+14155550103/read")
            let (_, unread) = try await client.json(.get, "/api/v1/conversations?unread=true")
            #expect((unread["conversations"] as? [[String: Any]])?.count == 2)
        }
    }

    @Test("Paging stays correct while new messages arrive: no conversation repeated, none that stood still skipped")
    func paginationUnderInserts() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            for index in 0..<25 {
                try await client.text("question \(index)", sid: "SMa\(index)", from: "+1415555\(String(format: "%04d", 1000 + index))")
                // 36.000457 s: times with parts of a millisecond, which PostgreSQL keeps.
                server.clock.advance(hours: 0.01 + 0.000_457 / 3600)
            }
            var seen: [String] = []
            var cursor: String?
            var moved: Set<String> = []
            var page = 0
            repeat {
                let (status, json) = try await client.json(.get, "/api/v1/conversations?limit=7" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(status == .ok)
                seen += (json["conversations"] as? [[String: Any]] ?? []).compactMap { $0["phone"] as? String }
                cursor = json["next_cursor"] as? String
                // Between pages: an old conversation gets a new message, and a new contact writes.
                page += 1
                let mover = "+1415555\(String(format: "%04d", 1000 + page))"
                moved.insert(mover)
                try await client.text("update \(page)", sid: "SMb\(page)", from: mover)
                try await client.text("new \(page)", sid: "SMc\(page)", from: "+1415555\(String(format: "%04d", 2000 + page))")
                server.clock.advance(hours: 0.01)
            } while cursor != nil
            #expect(Set(seen).count == seen.count, "a conversation appeared twice: \(seen)")
            let stillStanding = (0..<25).map { "+1415555\(String(format: "%04d", 1000 + $0))" }.filter { !moved.contains($0) }
            #expect(stillStanding.allSatisfy(seen.contains))
        }
    }

    @Test("Conversation cursors carry microseconds; one in milliseconds, as given before, still reads")
    func cursorPrecision() {
        let cursor = ConversationCursor(lastMessageAt: Date(timeIntervalSince1970: 1_795_618_800.123_457), id: ConversationID(7))
        let read = Cursor.decodeConversation(Cursor.encode(cursor))
        #expect(read?.id == cursor.id)
        #expect(read.map { abs($0.lastMessageAt.timeIntervalSince(cursor.lastMessageAt)) < 0.000_000_5 } == true)
        let old = Cursor.decodeConversation(Cursor.encode("c:1795618800123:7"))
        #expect(old?.lastMessageAt == Date(timeIntervalSince1970: 1_795_618_800.123))
        #expect(Cursor.decodeConversation(Cursor.encode("x:1:7")) == nil)
    }

    @Test("A thread pages from the newest messages back, each page oldest first, with status history")
    func threadPaging() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            for index in 0..<6 {
                try await client.text("message \(index)", sid: "SM\(index)")
                server.clock.advance(hours: 0.5)
            }
            let (_, first) = try await client.json(.get, "/api/v1/conversations/(415)%20555-0100/messages?limit=4")
            let firstPage = try #require(first["messages"] as? [[String: Any]])
            // Six texts, only the first acknowledged: the newest four are texts 2 to 5.
            #expect(firstPage.map { $0["body"] as? String } == ["message 2", "message 3", "message 4", "message 5"])
            #expect(first["next_cursor"] is String)
            let ids = firstPage.compactMap { $0["id"] as? Int }
            #expect(ids == ids.sorted())
            var all = firstPage
            var cursor = first["next_cursor"] as? String
            while let next = cursor {
                let (_, page) = try await client.json(.get, "/api/v1/conversations/+14155550100/messages?limit=4&cursor=\(next)")
                all = (page["messages"] as? [[String: Any]] ?? []) + all
                cursor = page["next_cursor"] as? String
            }
            let allIDs = all.compactMap { $0["id"] as? Int }
            #expect(allIDs == allIDs.sorted())
            #expect(Set(allIDs).count == allIDs.count)
            #expect(all.filter { $0["direction"] as? String == "inbound" }.map { $0["body"] as? String } == (0..<6).map { "message \($0)" })
            #expect(
                all.map { $0["direction"] as? String } == ["inbound", "outbound", "inbound", "inbound", "inbound", "inbound", "inbound"])
            #expect(all.allSatisfy { $0["status_history"] is [Any] })
        }
    }

    @Test("A manual send is queued, delivered by the outbox, and clears needs-reply")
    func manualSend() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            try await client.text("Can I bring my son?", sid: "SM1")
            let (status, json) = try await client.json(
                .post, "/api/v1/conversations/+14155550100/messages",
                body: #"{"body": "Yes, of course!", "media": ["https://example.com/map.png"]}"#)
            #expect(status == .created)
            #expect(json["status"] as? String == "queued")
            #expect(json["kind"] as? String == "manual")
            #expect(json["id"] is Int)
            #expect(try await server.replyline.outbox.runOnce() == 1)
            #expect(sender.sent.withLock { $0 }.map(\.body) == ["Yes, of course!"])
            let (_, detail) = try await client.json(.get, "/api/v1/conversations/+14155550100")
            #expect((detail["conversation"] as? [String: Any])?["needs_reply"] as? Bool == false)
        }
    }

    @Test(
        "Manual sends with a bad body are 422 naming the field, and change nothing",
        arguments: [
            (#"{"body": ""}"#, "body"), (#"{"body": "   "}"#, "body"), (#"{}"#, "body"), (#"{"body": 42}"#, "body"),
            ("{\"body\": \"" + String(repeating: "a", count: 1601) + "\"}", "body"), (#"{"body": "hi", "media": "x"}"#, "media"),
            (#"{"body": "hi", "media": ["ftp://x/y"]}"#, "media"), (#"{"body": "hi", "to": "+1"}"#, "to"),
        ])
    func manualSendValidation(body: String, field: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SM1")
            let before = try await server.database.tableCounts()
            let (status, json) = try await client.json(.post, "/api/v1/conversations/+14155550100/messages", body: body)
            #expect(status == .unprocessableContent)
            #expect(Self.errorField(json) == field)
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test("A manual send to an opted-out contact is 409 with the reason")
    func optedOutSend() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("STOP", sid: "SM1")
            let before = try await server.database.tableCounts()
            let (status, json) = try await client.json(
                .post, "/api/v1/conversations/+14155550100/messages", body: #"{"body": "Are you sure?"}"#)
            #expect(status == .conflict)
            #expect(Self.errorCode(json) == "opted_out")
            #expect(((json["error"] as? [String: Any])?["message"] as? String)?.contains("opted out on 2026-11-25T15:00:00Z") == true)
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test(
        "Bad query parameters and phone numbers are 400 naming them",
        arguments: [
            ("/api/v1/conversations?limit=0", "limit"), ("/api/v1/conversations?limit=500", "limit"),
            ("/api/v1/conversations?limit=ten", "limit"),
            ("/api/v1/conversations?cursor=bogus", "cursor"), ("/api/v1/conversations?unread=maybe", "unread"),
            ("/api/v1/conversations/+14155550100/messages?cursor=YzoxOjE", "cursor"), ("/api/v1/conversations/not-a-phone", "phone"),
            ("/api/v1/contacts/12/consent", "phone"),
        ])
    func badQueries(uri: String, field: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SM1")
            let (status, json) = try await client.json(.get, uri)
            #expect(status == .badRequest)
            #expect(Self.errorField(json) == field)
        }
    }

    @Test("The consent ledger lists every change with its source and message, and exports as CSV")
    func consentLedger() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("STOP", sid: "SM1")
            server.clock.advance(hours: 1)
            try await client.text("START", sid: "SM2")
            let (status, json) = try await client.json(.get, "/api/v1/contacts/4155550100/consent")
            #expect(status == .ok)
            #expect(json["consent"] as? String == "opted_in")
            let events = try #require(json["events"] as? [[String: Any]])
            #expect(events.map { $0["to"] as? String } == ["opted_out", "opted_in"])
            #expect(events.map { $0["message_id"] as? String } == ["SM1", "SM2"])
            #expect(events.map { $0["at"] as? String } == ["2026-11-25T15:00:00Z", "2026-11-25T16:00:00Z"])
            let csv = ConsentCSV.render(try await server.database.consentLedger(businessID: "clinic"))
            #expect(
                csv == "business_id,phone,from_state,to_state,source,message_id,at\r\n"
                    + "clinic,+14155550100,opted_in,opted_out,keyword,SM1,2026-11-25T15:00:00Z\r\n"
                    + "clinic,+14155550100,opted_out,opted_in,keyword,SM2,2026-11-25T16:00:00Z\r\n")
        }
    }

    @Test("PATCH with a new time reschedules: the pending request is cancelled and a new one queued")
    func reschedule() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        try await server.app.test(.router) { client in
            let (_, created) = try await client.json(
                .post, "/api/v1/appointments",
                body: #"{"phone": "+14155550100", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#)
            let id = try #require(created["id"] as? String)
            let (status, moved) = try await client.json(
                .patch, "/api/v1/appointments/\(id)", body: #"{"starts_at": "2026-12-02T11:30:00-05:00"}"#)
            #expect(status == .ok)
            #expect(moved["state"] as? String == "awaiting_reply")
            #expect(moved["starts_at"] as? String == "2026-12-02T16:30:00Z")
            #expect(try await server.replyline.outbox.runOnce() == 1)
            #expect(
                sender.sent.withLock { $0 }.map(\.body) == [
                    "Bright Smile Dental: your Checkup is on Wed, Dec 2 at 11:30 AM. Reply C to confirm or R to reschedule. Reply STOP to opt out."
                ])
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
            #expect(
                thread.messages.map { "\($0.kind.rawValue) \($0.status.rawValue)" } == [
                    "reminder cancelled", "reminder cancelled", "confirmation_request cancelled",
                    "reminder scheduled", "reminder scheduled", "confirmation_request queued",
                ])
        }
    }

    @Test("State changes through the API follow the transition rules; DELETE cancels")
    func stateChanges() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let (_, created) = try await client.json(
                .post, "/api/v1/appointments",
                body: #"{"phone": "+14155550100", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#)
            let id = try #require(created["id"] as? String)
            #expect(
                try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"state": "confirmed", "amount": 80}"#).json["amount"]
                    as? Double == 80)
            #expect(try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"amount": 0}"#).json["amount"] as? Double == 0)
            #expect(try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"amount": true}"#).status == .unprocessableContent)
            let (deleted, cancelled) = try await client.json(.delete, "/api/v1/appointments/\(id)")
            #expect(deleted == .ok)
            #expect(cancelled["state"] as? String == "cancelled")
            let (refused, error) = try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"state": "completed"}"#)
            #expect(refused == .conflict)
            #expect(Self.errorCode(error) == "invalid_transition")
            #expect(
                try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"starts_at": "2026-12-05T09:00:00-05:00"}"#).status
                    == .conflict)
            for (body, field) in [
                (#"{"state": "scheduled"}"#, "state"), (#"{"colour": "red"}"#, "colour"), ("{}", "body"), (#"{"service": ""}"#, "service"),
                (#"{"service": null}"#, "service"), (#"{"state": "confirmed", "starts_at": "2026-12-05T09:00:00-05:00"}"#, "state"),
            ] {
                let (status, json) = try await client.json(.patch, "/api/v1/appointments/\(id)", body: body)
                #expect(status == .unprocessableContent, "\(body)")
                #expect(Self.errorField(json) == field)
            }
            #expect(try await client.json(.get, "/api/v1/appointments/\(id)").json["state"] as? String == "cancelled")
        }
    }
}

@Suite("RFC 3339")
struct RFC3339Tests {
    @Test("Times format as Foundation's ISO 8601 style does, across eras and leap days")
    func format() {
        var generator = SystemRandomNumberGenerator()
        var dates = [0, 951_782_400, 1_795_618_800, -86_401, 4_107_542_399, 68_256_000, 1_709_164_800].map {
            Date(timeIntervalSince1970: Double($0))
        }
        for _ in 0..<500 {
            dates.append(Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000...5_000_000_000, using: &generator))))
        }
        for date in dates {
            #expect(RFC3339.string(from: date) == date.formatted(Date.ISO8601FormatStyle()), "\(date.timeIntervalSince1970)")
        }
    }
}
