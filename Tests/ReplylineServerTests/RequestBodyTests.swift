import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineServer
import Testing

/// Every API route with a body reads it the same way: a JSON object of at most 64 KiB,
/// sent as `application/json`, its fields of the types documented. Whatever is wrong is
/// answered with its own code and a message saying what to fix, and nothing is stored.
@Suite("JSON request bodies")
struct RequestBodyTests {
    /// The routes that take a body, each with a body it accepts.
    static let routes: [(HTTPRequest.Method, String)] = [
        (.post, "/api/v1/appointments"), (.patch, "/api/v1/appointments/apt_1"),
        (.post, "/api/v1/conversations/+14155550100/messages"), (.post, "/api/v1/events/call-completed"),
    ]

    static func message(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["message"] as? String }

    @Test(
        "A body that is not a JSON object is 400 malformed_json",
        arguments: ["[]", #"[{"body": "hi"}]"#, #""hi""#, "42", "null", "true", "{nope", "", #"{"body": "hi"} {}"#])
    func notAnObject(body: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SM1")
            let before = try await server.database.tableCounts()
            for (method, uri) in Self.routes {
                let (status, json) = try await client.json(method, uri, body: body)
                #expect(status == .badRequest, "\(method) \(uri) \(body)")
                #expect(InboxTests.errorCode(json) == "malformed_json", "\(method) \(uri) \(body)")
                #expect(Self.message(json) == #"The body is not a JSON object. Send {"field": value, ...}."#)
            }
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test("A body that is not application/json is 415, and one over 64 KiB is 413 whatever its type")
    func contentTypeAndSize() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SM1")
            let before = try await server.database.tableCounts()
            let big = #"{"body": ""# + String(repeating: "a", count: 64 * 1024) + #""}"#
            for (method, uri) in Self.routes {
                for (contentType, body, status, code) in [
                    ("text/plain", #"{"body": "hi"}"#, HTTPResponse.Status.unsupportedMediaType, "unsupported_media_type"),
                    ("application/x-www-form-urlencoded", "body=hi", .unsupportedMediaType, "unsupported_media_type"),
                    ("application/json", big, .contentTooLarge, "body_too_large"),
                    ("text/plain", big, .contentTooLarge, "body_too_large"),
                ] {
                    let (actual, json) = try await client.execute(
                        uri: uri, method: method, headers: [.authorization: "Bearer key-clinic", .contentType: contentType],
                        body: ByteBuffer(string: body)
                    ) { response in
                        (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:])
                    }
                    #expect(actual == status, "\(method) \(uri) \(contentType)")
                    #expect(InboxTests.errorCode(json) == code, "\(method) \(uri) \(contentType)")
                }
            }
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test(
        "A field of the wrong type, an unknown field and a null are refused saying exactly what to fix",
        arguments: [
            (
                HTTPRequest.Method.post, "/api/v1/appointments",
                #"{"phone": "+14155550100", "service": "x", "starts_at": "2026-12-01T09:00:00-05:00", "amount": "120"}"#, "amount",
                "`amount` must be a non-negative number such as 120 or 89.50."
            ),
            (
                .post, "/api/v1/appointments",
                #"{"phone": "+14155550100", "service": "x", "starts_at": "2026-12-01T09:00:00-05:00", "amount": true}"#, "amount",
                "`amount` must be a non-negative number such as 120 or 89.50."
            ),
            (
                .post, "/api/v1/appointments",
                #"{"phone": "+14155550100", "service": "x", "starts_at": "2026-12-01T09:00:00-05:00", "amount": 1000000}"#, "amount",
                "`amount` must be a non-negative number such as 120 or 89.50."
            ),
            (
                .post, "/api/v1/appointments",
                #"{"phone": "+14155550100", "customer_name": {"first": "Ana"}, "service": "x", "starts_at": "2026-12-01T09:00:00-05:00"}"#,
                "customer_name", "`customer_name` must be a non-empty string of at most 200 characters."
            ),
            (
                .post, "/api/v1/appointments", #"{"phone": 14155550100, "service": "x", "starts_at": "2026-12-01T09:00:00-05:00"}"#,
                "phone",
                "`phone` must be a non-empty string of at most 200 characters."
            ),
            (
                .post, "/api/v1/appointments", #"{"phone": null, "service": "x", "starts_at": "2026-12-01T09:00:00-05:00"}"#, "phone",
                "`phone` is required."
            ),
            (
                .post, "/api/v1/appointments", #"{"phone": "+14155550100", "service": ["x"], "starts_at": "2026-12-01T09:00:00-05:00"}"#,
                "service", "`service` must be a non-empty string of at most 200 characters."
            ),
            (
                .post, "/api/v1/appointments",
                #"{"phone": "+14155550100", "service": "x", "starts_at": "2026-12-01T09:00:00-05:00", "colour": "red", "at": 1}"#, "at",
                "Unknown field `at`. Fields are phone, customer_name, service, starts_at, amount."
            ),
            (
                .patch, "/api/v1/appointments/{id}", #"{"colour": "red", "amount": "lots"}"#, "colour",
                "Unknown field `colour`. Fields are customer_name, service, starts_at, amount, state."
            ),
            (
                .patch, "/api/v1/appointments/{id}", "{}", "body",
                "Nothing to change: give at least one of amount, customer_name, service, starts_at, state."
            ),
            (
                .patch, "/api/v1/appointments/{id}", #"{"service": null, "amount": null}"#, "amount",
                "`amount` cannot be null; leave it out to keep its value."
            ),
            (
                .patch, "/api/v1/appointments/{id}", #"{"amount": "80"}"#, "amount",
                "`amount` must be a non-negative number such as 120 or 89.50."
            ),
            (
                .patch, "/api/v1/appointments/{id}", #"{"state": 3}"#, "state",
                "`state` must be one of confirmed, reschedule_requested, cancelled, completed, no_show."
            ),
            (
                .patch, "/api/v1/appointments/{id}", #"{"state": "scheduled"}"#, "state",
                "`state` must be one of confirmed, reschedule_requested, cancelled, completed, no_show."
            ),
            (
                .patch, "/api/v1/appointments/{id}", #"{"state": "confirmed", "starts_at": "2026-12-05T09:00:00-05:00"}"#, "state",
                "Change `starts_at` or `state`, not both: a new time asks the customer to confirm again."
            ),
            (
                .post, "/api/v1/conversations/+14155550100/messages", #"{"body": "hi", "to": "+1"}"#, "to",
                "Unknown field `to`. Fields are body and media."
            ),
            (.post, "/api/v1/conversations/+14155550100/messages", #"{"body": {"text": "hi"}}"#, "body", "`body` must be a string."),
            (
                .post, "/api/v1/conversations/+14155550100/messages", #"{"body": "hi", "media": ["https://example.com/a.png", 5]}"#,
                "media",
                "`media` must be a list of http(s) URLs."
            ),
            (
                .post, "/api/v1/conversations/+14155550100/messages", #"{"media": [null]}"#, "media",
                "`media` must be a list of http(s) URLs."
            ),
            (
                .post, "/api/v1/events/call-completed", #"{"phone": "+14155550100", "summary": ["Booked."]}"#, "summary",
                "`summary` must be a non-empty string of at most 600 characters."
            ),
            (
                .post, "/api/v1/events/call-completed", #"{"phone": "+14155550100", "summary": "Booked.", "appointment_id": 7}"#,
                "appointment_id", "`appointment_id` must be a non-empty string of at most 200 characters."
            ),
            (
                .post, "/api/v1/events/call-completed", #"{"phone": "+14155550100", "notes": "Booked."}"#, "notes",
                "Unknown field `notes`. Fields are phone, summary, appointment_id."
            ),
        ])
    func fieldMessages(method: HTTPRequest.Method, uri: String, body: String, field: String, message: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SM1")
            let (_, created) = try await client.json(.post, "/api/v1/appointments", body: ControlCharacterTests.booking)
            let id = try #require(created["id"] as? String)
            let before = try await server.database.tableCounts()
            let (status, json) = try await client.json(method, uri.replacingOccurrences(of: "{id}", with: id), body: body)
            #expect(status == .unprocessableContent)
            #expect(InboxTests.errorCode(json) == "invalid_field")
            #expect(InboxTests.errorField(json) == field)
            #expect(Self.message(json) == message)
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test("Null is the same as leaving out an optional field of a new appointment or a manual send")
    func nullIsAbsent() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SM1")
            let (created, appointment) = try await client.json(
                .post, "/api/v1/appointments",
                body:
                    #"{"phone": "+14155550100", "customer_name": null, "service": "x", "starts_at": "2026-12-01T09:00:00-05:00", "amount": null}"#
            )
            #expect(created == .created)
            #expect(appointment["customer_name"] == nil && appointment["amount"] == nil)
            let (sent, message) = try await client.json(
                .post, "/api/v1/conversations/+14155550100/messages", body: #"{"body": "On our way", "media": null}"#)
            #expect(sent == .created)
            #expect(message["body"] as? String == "On our way")
        }
    }
}
