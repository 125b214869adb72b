import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ReplylineServer

/// Issue 16, item 11: other methods on known paths answered 404, as if the path did not exist.
@Suite("405 Method Not Allowed")
struct MethodNotAllowedTests {
    @Test(
        "A known path asked with a method it does not take is 405, with Allow listing the methods it takes",
        arguments: [
            (HTTPRequest.Method.put, "/api/v1/appointments", "GET, POST"),
            (.put, "/api/v1/appointments/apt_1", "DELETE, GET, PATCH"),
            (.delete, "/api/v1/conversations/%2B14155550100/messages", "GET, POST"),
            (.get, "/api/v1/conversations/+14155550100/read", "POST"),
            (.post, "/api/v1/reports/usage", "GET"),
            (.put, "/api/v1/openapi.json", "GET"),
            (.get, "/webhooks/twilio/messages", "POST"),
            (.delete, "/webhooks/twilio/status", "POST"),
            (.post, "/healthz", "GET"),
            (.options, "/metrics", "GET"),
        ])
    func methodNotAllowed(method: HTTPRequest.Method, uri: String, allow: String) async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer key-clinic"]) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == allow)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: [String: Any]]
                #expect(json?["error"]?["code"] as? String == "method_not_allowed")
                #expect((json?["error"]?["message"] as? String)?.contains(allow) == true)
            }
        }
    }

    @Test("An unknown path is still 404, and known routes answer as before")
    func unknownPath() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            for uri in ["/api/v1/nothing", "/api/v1/appointments/apt_1/extra", "/nope", "/webhooks/twilio"] {
                let status = try await client.execute(uri: uri, method: .put) { $0.status }
                #expect(status == .notFound, "\(uri)")
            }
            let health = try await client.execute(uri: "/healthz", method: .get) { $0.status }
            #expect(health == .ok)
            let list = try await client.json(.get, "/api/v1/appointments").status
            #expect(list == .ok)
        }
    }
}
