import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineServer

/// Voice-agent call events, in-call SMS and call logs, with Rules/default.yml's agent
/// `front_desk` and a fake Twilio on 127.0.0.1.
@Suite("Voice-agent calls")
struct CallsTests {
    static let caller = "+14155550100"

    /// A post-call event of `front_desk` naming `sms_confirmation`, ended a minute before now.
    static func postCall(
        _ callID: String, server: TestServer, phone: String = caller, actions: String = #"["sms_confirmation"]"#,
        variables: String = #"{"customer_name": "Ana", "service": "cleaning", "appointment_time": "Fri, Dec 4 at 10:00 AM"}"#,
        endedMinutesAgo: Double = 1
    ) -> String {
        let ended = RFC3339.string(from: server.clock.now.addingTimeInterval(-endedMinutesAgo * 60))
        return """
            {"call_id": "\(callID)", "agent": "front_desk", "phone": "\(phone)", "ended_at": "\(ended)",
             "variables": \(variables), "actions": \(actions)}
            """
    }

    static func sms(_ json: [String: Any], _ index: Int = 0) throws -> [String: Any] {
        let list = try #require(json["sms"] as? [[String: Any]])
        return try #require(list.indices.contains(index) ? list[index] : nil)
    }

    @Test("A post-call event renders the agent's action from the call's variables and Twilio receives it")
    func postCallSends() async throws {
        try await OutboundTests.withFakeTwilio { fake, server, client in
            let (status, json) = try await client.json(.post, "/api/v1/calls", body: Self.postCall("call_1", server: server))
            #expect(status == .created)
            #expect(json["call_id"] as? String == "call_1")
            #expect((json["variables"] as? [String: String])?["customer_name"] == "Ana")
            let sms = try Self.sms(json)
            let body = "Bright Smile Dental: Ana, your cleaning is booked for Fri, Dec 4 at 10:00 AM. Reply STOP to opt out."
            #expect(sms["action"] as? String == "sms_confirmation")
            #expect(sms["kind"] as? String == "post_call")
            #expect(sms["class"] as? String == "transactional")
            #expect(sms["body"] as? String == body)
            #expect(sms["status"] as? String == "queued")
            #expect((sms["message"] as? [String: Any])?["segments"] as? Int == 1)
            #expect((sms["message"] as? [String: Any])?["encoding"] as? String == "GSM-7")

            #expect(try await server.replyline.outbox.runOnce() == 1)
            #expect(fake.received.map { $0["Body"] } == [body])
            #expect(fake.received.first?["To"] == Self.caller)
            let (_, log) = try await client.json(.get, "/api/v1/calls/call_1")
            let sent = try Self.sms(log)
            let message = try #require(sent["message"] as? [String: Any])
            #expect((message["provider_message_id"] as? String)?.hasPrefix("SM") == true)
            #expect(sent["status"] as? String == "queued")
            #expect(sent["not_sent"] == nil)
        }
    }

    @Test("A retried call event sends nothing twice; a later event of the call queues only its new actions")
    func idempotent() async throws {
        try await OutboundTests.withFakeTwilio { fake, server, client in
            let event = Self.postCall("call_retry", server: server)
            #expect(try await client.json(.post, "/api/v1/calls", body: event).status == .created)
            let (again, json) = try await client.json(.post, "/api/v1/calls", body: event)
            #expect(again == .ok)
            #expect((json["sms"] as? [Any])?.count == 1)
            try await server.replyline.outbox.runOnce()
            #expect(try await client.json(.post, "/api/v1/calls", body: event).status == .ok)
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.count == 1)

            let more = Self.postCall("call_retry", server: server, actions: #"["sms_confirmation", "sms_directions"]"#)
            let (status, both) = try await client.json(.post, "/api/v1/calls", body: more)
            #expect(status == .ok)
            #expect((both["sms"] as? [[String: Any]])?.map { $0["action"] as? String } == ["sms_confirmation", "sms_directions"])
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.count == 2)
        }
    }

    @Test("Missing inputs and unknown actions are a 422 naming each one, and nothing is stored")
    func missingInputs() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let before = try await server.database.tableCounts()
            let event = Self.postCall(
                "call_bad", server: server, actions: #"["sms_confirmation", "sms_reminder"]"#, variables: #"{"customer_name": "Ana"}"#)
            let (status, json) = try await client.json(.post, "/api/v1/calls", body: event)
            #expect(status == .unprocessableContent)
            let error = try #require(json["error"] as? [String: Any])
            #expect(error["code"] as? String == "invalid_call_event")
            #expect(error["field"] as? String == "variables")
            let problems = try #require(error["problems"] as? [String])
            #expect(problems.count == 3)
            #expect(problems.contains { $0.contains("<service>") && $0.contains("`service`") })
            #expect(problems.contains { $0.contains("<appointment_time>") })
            #expect(problems.contains { $0.contains("unknown action `sms_reminder`") })
            #expect(try await server.database.tableCounts() == before)

            let blank = Self.postCall(
                "call_blank", server: server,
                variables: #"{"customer_name": " ", "service": "cleaning", "appointment_time": "Fri 10 AM"}"#)
            #expect(try await client.json(.post, "/api/v1/calls", body: blank).status == .unprocessableContent)

            let unknownAgent = #"{"call_id": "c", "agent": "night_line", "phone": "+14155550100", "actions": []}"#
            let (agentStatus, agentJSON) = try await client.json(.post, "/api/v1/calls", body: unknownAgent)
            #expect(agentStatus == .unprocessableContent)
            #expect(((agentJSON["error"] as? [String: Any])?["message"] as? String)?.contains("`front_desk`") == true)

            let live = #"{"call_id": "c2", "agent": "front_desk", "phone": "+14155550100", "actions": ["sms_confirmation"]}"#
            let (liveStatus, liveJSON) = try await client.json(.post, "/api/v1/calls", body: live)
            #expect(liveStatus == .unprocessableContent)
            #expect(((liveJSON["error"] as? [String: Any])?["message"] as? String)?.contains("has not ended") == true)

            let nested = #"{"call_id": "c3", "agent": "front_desk", "phone": "+14155550100", "variables": {"a": {"b": 1}}}"#
            let (nestedStatus, nestedJSON) = try await client.json(.post, "/api/v1/calls", body: nested)
            #expect(nestedStatus == .unprocessableContent)
            #expect((nestedJSON["error"] as? [String: Any])?["field"] as? String == "variables")
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test("A send Twilio refuses with 21211 shows in the call log as failed, with what the code means and what to do")
    func failedSend() async throws {
        try await OutboundTests.withFakeTwilio(
            .error(400, code: 21211, message: "The 'To' number +14155550100 is not a valid phone number.")
        ) { _, server, client in
            _ = try await client.json(.post, "/api/v1/calls", body: Self.postCall("call_fail", server: server))
            try await server.replyline.outbox.runOnce()
            let (_, log) = try await client.json(.get, "/api/v1/calls/call_fail")
            let sms = try Self.sms(log)
            #expect(sms["status"] as? String == "failed")
            let error = try #require(sms["error"] as? [String: Any])
            #expect(error["code"] as? String == "21211")
            #expect(error["meaning"] as? String == "invalid 'To' phone number")
            #expect((error["advice"] as? String)?.contains("not a valid phone number") == true)
            #expect((sms["message"] as? [String: Any])?["error_code"] as? String == "21211")
        }
    }

    @Test("An opted-out caller gets nothing, and the call log says why")
    func optedOut() async throws {
        try await OutboundTests.withFakeTwilio { fake, server, client in
            try await client.text("STOP", sid: "SMstop000000000000000000000000001")
            let (status, json) = try await client.json(.post, "/api/v1/calls", body: Self.postCall("call_stop", server: server))
            #expect(status == .created)
            let sms = try Self.sms(json)
            #expect(sms["status"] as? String == "not_sent")
            #expect(sms["message"] == nil)
            #expect((sms["not_sent"] as? [String: Any])?["reason"] as? String == "opted_out")
            #expect((sms["body"] as? String)?.contains("Ana") == true)
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.isEmpty)
        }
    }

    @Test("A contact who opts out after the event is queued is not texted; the log says the outbox blocked it")
    func optedOutBeforeSending() async throws {
        try await OutboundTests.withFakeTwilio { fake, server, client in
            _ = try await client.json(.post, "/api/v1/calls", body: Self.postCall("call_late_stop", server: server))
            try await client.text("STOP", sid: "SMstop000000000000000000000000002")
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.isEmpty)
            let sms = try Self.sms(try await client.json(.get, "/api/v1/calls/call_late_stop").json)
            #expect(sms["status"] as? String == "not_sent")
            #expect((sms["not_sent"] as? [String: Any])?["reason"] as? String == "opted_out")
        }
    }

    @Test("During a live call: an in_call action or a plain text is sent once; a post_call action waits for the end")
    func inCall() async throws {
        try await OutboundTests.withFakeTwilio { fake, server, client in
            let live = #"{"call_id": "call_live", "agent": "front_desk", "phone": "+14155550100", "variables": {"customer_name": "Ana"}}"#
            let (created, call) = try await client.json(.post, "/api/v1/calls", body: live)
            #expect(created == .created)
            #expect(call["ended_at"] == nil)
            let action = #"{"action": "sms_directions"}"#
            let (sent, sms) = try await client.json(.post, "/api/v1/calls/call_live/sms", body: action)
            #expect(sent == .created)
            #expect(sms["kind"] as? String == "in_call")
            #expect(try await client.json(.post, "/api/v1/calls/call_live/sms", body: action).status == .ok)

            let text = #"{"body": "Here is the intake form: https://example.com/f/123"}"#
            #expect(try await client.json(.post, "/api/v1/calls/call_live/sms", body: text).status == .created)
            #expect(try await client.json(.post, "/api/v1/calls/call_live/sms", body: text).status == .ok)
            let keyed = #"{"body": "Here is the intake form: https://example.com/f/123", "idempotency_key": "second"}"#
            #expect(try await client.json(.post, "/api/v1/calls/call_live/sms", body: keyed).status == .created)

            let postCall = #"{"action": "sms_confirmation"}"#
            let (refused, error) = try await client.json(.post, "/api/v1/calls/call_live/sms", body: postCall)
            #expect(refused == .unprocessableContent)
            #expect((error["error"] as? [String: Any])?["field"] as? String == "action")
            let both = #"{"action": "sms_directions", "body": "hi"}"#
            #expect(try await client.json(.post, "/api/v1/calls/call_live/sms", body: both).status == .unprocessableContent)
            let (missing, _) = try await client.json(.post, "/api/v1/calls/call_none/sms", body: action)
            #expect(missing == .notFound)

            // Cadence holds automated texts as for any: two to a contact in ten minutes.
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.count == 2)
            let (_, log) = try await client.json(.get, "/api/v1/calls/call_live")
            let list = try #require(log["sms"] as? [[String: Any]])
            #expect(list.map { $0["action"] as? String } == ["sms_directions", nil, nil])
            #expect((list[2]["waiting"] as? [String: Any])?["reason"] as? String == "cadence")
            server.clock.advance(hours: 0.2)
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.count == 3)
        }
    }

    @Test("At night a post-call SMS goes at once while the call is fresh; one for a call that ended an hour ago waits for opening")
    func quietHours() async throws {
        try await OutboundTests.withFakeTwilio { fake, server, client in
            server.clock.advance(hours: 12)  // 22:00 in New York: closed until 09:00
            _ = try await client.json(.post, "/api/v1/calls", body: Self.postCall("call_fresh", server: server))
            let late = Self.postCall("call_old", server: server, phone: "+14155550111", endedMinutesAgo: 60)
            let (_, json) = try await client.json(.post, "/api/v1/calls", body: late)
            let waiting = try #require(try Self.sms(json)["waiting"] as? [String: Any])
            #expect(waiting["reason"] as? String == "outside_hours")
            #expect((waiting["detail"] as? String)?.contains("09:00 America/New_York") == true)
            // A text asked for during that call, now long over, waits too.
            let (_, text) = try await client.json(.post, "/api/v1/calls/call_old/sms", body: #"{"body": "Our address is 1200 Main St."}"#)
            #expect((text["waiting"] as? [String: Any])?["reason"] as? String == "outside_hours")
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.map { $0["To"] } == [Self.caller])
            server.clock.advance(hours: 11.5)
            try await server.replyline.outbox.runOnce()
            #expect(fake.received.map { $0["To"] } == [Self.caller, "+14155550111", "+14155550111"])
        }
    }

    @Test("The customer's reply to a call's SMS is listed in the call log")
    func replies() async throws {
        try await OutboundTests.withFakeTwilio { _, server, client in
            _ = try await client.json(.post, "/api/v1/calls", body: Self.postCall("call_reply", server: server))
            try await server.replyline.outbox.runOnce()
            try await client.text("Can I bring my son too?", sid: "SMreply00000000000000000000000001")
            let sms = try Self.sms(try await client.json(.get, "/api/v1/calls/call_reply").json)
            let replies = try #require(sms["replies"] as? [[String: Any]])
            #expect(replies.map { $0["body"] as? String } == ["Can I bring my son too?"])
        }
    }

    @Test("Call logs page oldest first from `since`; another business sees none of them; a call cannot change phone")
    func listsAndIsolation() async throws {
        let server = try await TestServer.twoBusinesses()
        try await server.app.test(.router) { client in
            let start = RFC3339.string(from: server.clock.now)
            for index in 1...3 {
                let event = Self.postCall("call_\(index)", server: server, phone: "+1415555010\(index)")
                #expect(try await client.json(.post, "/api/v1/calls", body: event).status == .created)
                server.clock.advance(hours: 0.1)
            }
            let (_, first) = try await client.json(.get, "/api/v1/calls?since=\(start)&limit=2")
            #expect((first["calls"] as? [[String: Any]])?.map { $0["call_id"] as? String } == ["call_1", "call_2"])
            let cursor = try #require(first["next_cursor"] as? String)
            let (_, second) = try await client.json(.get, "/api/v1/calls?since=\(start)&limit=2&cursor=\(cursor)")
            #expect((second["calls"] as? [[String: Any]])?.map { $0["call_id"] as? String } == ["call_3"])
            #expect(second["next_cursor"] == nil)
            #expect(try await client.json(.get, "/api/v1/calls?since=yesterday").status == .badRequest)

            #expect(try await client.json(.get, "/api/v1/calls/call_1", key: "key-salon").status == .notFound)
            let (_, salonCalls) = try await client.json(.get, "/api/v1/calls?since=\(start)", key: "key-salon")
            #expect((salonCalls["calls"] as? [Any])?.isEmpty == true)

            let colon = Self.postCall("retell:8f2c", server: server, phone: "+14155550104")
            #expect(try await client.json(.post, "/api/v1/calls", body: colon).status == .created)
            #expect(try await client.json(.get, "/api/v1/calls/retell%3A8f2c").json["call_id"] as? String == "retell:8f2c")
            let many = Self.postCall(
                "call_many", server: server, actions: "[" + (1...21).map { "\"a\($0)\"" }.joined(separator: ", ") + "]")
            let (tooMany, manyJSON) = try await client.json(.post, "/api/v1/calls", body: many)
            #expect(tooMany == .unprocessableContent)
            #expect((manyJSON["error"] as? [String: Any])?["field"] as? String == "actions")
            let forged = Cursor.encode("call:9223372036854775807:1")  // not a cursor this API gives
            #expect(try await client.json(.get, "/api/v1/calls?cursor=\(forged)").status == .badRequest)

            let before = try await server.database.tableCounts()
            let moved = Self.postCall("call_1", server: server, phone: "+14155550199")
            let (conflict, json) = try await client.json(.post, "/api/v1/calls", body: moved)
            #expect(conflict == .conflict)
            #expect((json["error"] as? [String: Any])?["field"] as? String == "phone")
            #expect(try await server.database.tableCounts() == before)  // not even the new phone's contact
        }
    }

    @Test("Paging call logs one at a time neither repeats nor skips calls received at the same instant")
    func pagingTies() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            for index in 1...4 {
                let event = Self.postCall("tie_\(index)", server: server, phone: "+1415555020\(index)")
                #expect(try await client.json(.post, "/api/v1/calls", body: event).status == .created)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let (_, page) = try await client.json(.get, "/api/v1/calls?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
                seen += (page["calls"] as? [[String: Any]] ?? []).compactMap { $0["call_id"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil && seen.count < 10
            #expect(seen == ["tie_1", "tie_2", "tie_3", "tie_4"])
        }
    }

    @Test("A marketing action is recorded as not sent: no written consent is on record")
    func marketing() async throws {
        var yaml = try String(contentsOf: Repository.rules.appendingPathComponent("default.yml"), encoding: .utf8)
        yaml = yaml.replacingOccurrences(
            of: "\nactions:\n",
            with: """

                actions:
                  sms_offer:
                    kind: post_call
                    class: marketing
                    message: "[Business]: 20% off whitening this month. Reply STOP to opt out."

                """)
        yaml = yaml.replacingOccurrences(of: "      sms_directions:\n", with: "      sms_directions:\n      sms_offer:\n")
        let rules = try RulesLoader.load(yaml: yaml, file: "marketing.yml")
        let fake = FakeTwilio()
        try await fake.run { baseURL in
            let server = try await TestServer.sendingThrough(baseURL) { $0.businesses[0].rules = rules }
            try await server.app.test(.router) { client in
                let event = Self.postCall("call_offer", server: server, actions: #"["sms_offer"]"#)
                let (status, json) = try await client.json(.post, "/api/v1/calls", body: event)
                #expect(status == .created)
                let sms = try Self.sms(json)
                #expect(sms["class"] as? String == "marketing")
                #expect((sms["not_sent"] as? [String: Any])?["reason"] as? String == "no_marketing_consent")
                try await server.replyline.outbox.runOnce()
                #expect(fake.received.isEmpty)
            }
        }
    }
}
