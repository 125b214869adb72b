import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineProviders
import ReplylineSQLite
import ReplylineServer
import ReplylineStore
import Testing

@Suite("Security and operations")
struct SecurityTests {
    @Test("Past its burst a client gets 429 with Retry-After; another client is still served")
    func rateLimit() async throws {
        let server = try await TestServer.twoBusinesses()
        var configuration = server.replyline.configuration
        // One token per 10,000 s, so no token comes back while the test runs, however slowly
        // (under TSan on a loaded 2-core machine this suite took minutes; with one token
        // per 100 s a sixth request got through).
        configuration.apiRateLimit = RateLimit(perSecond: 0.0001, burst: 5)
        let limited = try AppServices(configuration, store: server.database, logger: TestServer.quietLogger)
        try await buildApplication(limited).test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<8 { statuses.append(try await client.json(.get, "/api/v1/conversations").status) }
            #expect(statuses == Array(repeating: .ok, count: 5) + Array(repeating: .tooManyRequests, count: 3))
            try await client.execute(uri: "/api/v1/conversations", method: .get, headers: [.authorization: "Bearer key-clinic"]) {
                response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter].flatMap(Int.init).map { $0 >= 1 && $0 <= 10_000 } == true)
                #expect(String(buffer: response.body).contains("rate_limited"))
            }
            #expect(try await client.json(.get, "/api/v1/conversations", key: "key-salon").status == .ok)
        }
    }

    @Test("Appointment times outside the years 2000 to 9999 are refused, and nothing is stored")
    func dateRange() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            for startsAt in ["99999-01-01T10:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z"] {
                let (status, body) = try await client.json(
                    .post, "/api/v1/appointments", body: #"{"phone": "+14155550100", "service": "x", "starts_at": "\#(startsAt)"}"#)
                #expect(status == .unprocessableContent)
                #expect((body["error"] as? [String: Any])?["field"] as? String == "starts_at")
            }
            #expect(try await server.database.thread(businessID: "clinic", phone: "+14155550100") == nil)
        }
    }

    @Test("A backup is a consistent copy that passes its integrity check, and never overwrites a file", .enabled(if: TestBackend.isSQLite))
    func backup() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            for index in 0..<20 { try await client.text("Message \(index)", sid: "SMb\(index)") }
        }
        let path = server.directory.url.appendingPathComponent("copy.sqlite").path
        try await server.database.backup(to: path)
        let copy = try AppDatabase(path: path)
        #expect(try await copy.integrityCheck() == "ok")
        let thread = try #require(try await copy.thread(businessID: "clinic", phone: "+14155550100"))
        let original = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
        #expect(thread.messages.count == original.messages.count)
        await #expect(throws: BackupError.self) { try await server.database.backup(to: path) }
    }

    @Test("Status callbacks and inbound webhooks answer a broken body with 400, a big one with 413")
    func unreadableBodies() async throws {
        let server = try await TestServer()
        let handler = try #require(server.replyline.webhooks["twilio"])
        let broken = WebhookRequest(
            target: "/webhooks/twilio/messages", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: [],
            bodyUnreadable: true)
        #expect(await handler.inbound(broken).status == 400)
        #expect(await handler.status(broken).status == 400)
        let big = WebhookRequest(
            target: "/webhooks/twilio/messages", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: [],
            bodyExceededLimit: true)
        #expect(await handler.inbound(big).status == 413)
    }
}
