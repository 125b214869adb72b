import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineServer
import Testing

/// What an operator configures: the plan's limit and who may read `/metrics`.
@Suite("Operator settings")
struct OperatorTests {
    @Test("A configured plan shows in the usage report with its limit, and the outbox stops at it")
    func configuredPlan() async throws {
        let sender = RecordingSender()
        let server = try await TestServer(configure: { $0.businesses[0].plan = .starter }, sender: sender)
        try await server.app.test(.router) { client in
            let (_, usage) = try await client.json(.get, "/api/v1/reports/usage")
            #expect(usage["plan"] as? String == "starter")
            #expect(usage["included_messages"] as? Int == 500)
            #expect(usage["monthly_limit"] as? Int == 2_500)
            #expect(usage["limit_reached"] as? Bool == false)
        }
    }

    @Test("With a metrics token, /metrics answers only its bearer")
    func metricsToken() async throws {
        let server = try await TestServer(configure: { $0.metricsToken = "m-secret" })
        try await server.app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(!String(buffer: response.body).contains("m-secret"))
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer m-secreT"]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer m-secret"]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("# TYPE"))
            }
        }
    }

    @Test("With a metrics address, /metrics is served there and not on the main port")
    func metricsAddress() async throws {
        let server = try await TestServer(configure: { $0.metricsAddress = ("127.0.0.1", 0) })
        try await server.app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in #expect(response.status == .notFound) }
            try await client.execute(uri: "/healthz", method: .get) { response in #expect(response.status == .ok) }
        }
    }
}
