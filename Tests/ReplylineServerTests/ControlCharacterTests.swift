import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineServer

/// Issue 16, item 7: SQLite and the provider cut text at a NUL, so a follow-up went out
/// without its "Reply STOP" line while the 201 echoed the whole text. Every API text field
/// refuses control characters instead, naming the field, and nothing is stored.
@Suite("Control characters in API text")
struct ControlCharacterTests {
    static let booking = #"{"phone": "+14155550100", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#

    /// A JSON string literal holding `text`, control characters escaped as `\uXXXX`.
    static func literal(_ text: String) -> String {
        var json: [UInt8] = []
        JSONString.append(text, to: &json)
        return String(decoding: json, as: UTF8.self)
    }

    /// The texts each field must refuse: C0 controls (NUL first: the one that cut texts),
    /// DEL and C1 controls.
    static let controls = ["sum\u{0}mary", "bell\u{7}", "esc\u{1B}[31m", "car\rriage", "del\u{7F}", "next\u{85}line", "csi\u{9B}"]

    @Test("POST /appointments refuses control characters in customer_name and service", arguments: ["customer_name", "service"])
    func newAppointment(field: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            // One-line fields: a line break or tab would split the texts they are put in.
            for text in Self.controls + ["two\nlines", "tab\there"] {
                var fields = ["phone": "\"+14155550100\"", "service": "\"Checkup\"", "starts_at": "\"2026-12-01T09:00:00-05:00\""]
                fields[field] = Self.literal(text)
                let body = "{" + fields.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
                let (status, json) = try await client.json(.post, "/api/v1/appointments", body: body)
                #expect(status == .unprocessableContent, "\(text.debugDescription)")
                #expect(InboxTests.errorField(json) == field)
                #expect(Self.message(json)?.contains("U+") == true, "\(json)")
            }
        }
        #expect(try await server.database.tableCounts().values.allSatisfy { $0 == 0 })
    }

    @Test(
        "PATCH /appointments/{id} refuses control characters and keeps the appointment as it was", arguments: ["customer_name", "service"])
    func changeAppointment(field: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            let (_, created) = try await client.json(.post, "/api/v1/appointments", body: Self.booking)
            let id = try #require(created["id"] as? String)
            let before = try await server.database.tableCounts()
            for text in Self.controls + ["two\nlines"] {
                let (status, json) = try await client.json(
                    .patch, "/api/v1/appointments/\(id)", body: "{\"\(field)\": \(Self.literal(text))}")
                #expect(status == .unprocessableContent, "\(text.debugDescription)")
                #expect(InboxTests.errorField(json) == field)
            }
            let (_, shown) = try await client.json(.get, "/api/v1/appointments/\(id)")
            #expect(shown["service"] as? String == "Checkup")
            #expect(shown["customer_name"] == nil)
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test("A manual message body refuses control characters other than newline and tab")
    func manualBody() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SM1")
            let before = try await server.database.tableCounts()
            for text in Self.controls {
                let (status, json) = try await client.json(
                    .post, "/api/v1/conversations/+14155550100/messages", body: "{\"body\": \(Self.literal(text))}")
                #expect(status == .unprocessableContent, "\(text.debugDescription)")
                #expect(InboxTests.errorField(json) == "body")
            }
            let (status, json) = try await client.json(
                .post, "/api/v1/conversations/+14155550100/messages", body: #"{"body": "Line one\nLine two\tand a tab"}"#)
            #expect(try await server.database.tableCounts()["messages"] == before["messages"]! + 1)
            #expect(status == .created)
            #expect(json["body"] as? String == "Line one\nLine two\tand a tab")
        }
    }

    @Test("A call summary with a NUL is refused, so no follow-up goes out cut short")
    func callSummary() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            for text in Self.controls {
                let (status, json) = try await client.json(
                    .post, "/api/v1/events/call-completed", body: "{\"phone\": \"+14155550100\", \"summary\": \(Self.literal(text))}")
                #expect(status == .unprocessableContent, "\(text.debugDescription)")
                #expect(InboxTests.errorField(json) == "summary")
                #expect(Self.message(json)?.contains("summary") == true)
            }
            #expect(try await server.database.tableCounts().values.allSatisfy { $0 == 0 })
            let (status, json) = try await client.json(
                .post, "/api/v1/events/call-completed", body: #"{"phone": "+14155550100", "summary": "Booked.\nSee you Friday."}"#)
            #expect(status == .created)
            #expect((json["body"] as? String)?.contains("Booked.\nSee you Friday.") == true)
        }
    }

    static func message(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["message"] as? String }
}
