import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineProviders
import Testing

@testable import ReplylineServer

@Suite("Twilio inbound webhook")
struct WebhookTests {
    @Test("Over real HTTP on 127.0.0.1: a signed message is answered, an oversized body is 413 and stores nothing")
    func live() async throws {
        let server = try await TestServer()
        try await server.app.test(.live) { client in
            let (headers, form) = TestServer.inbound(TestServer.sms("SMlive1", body: "HELP"))
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("Msg&amp;data rates may apply"))
            }
            let before = try await server.database.tableCounts()
            let huge = TestServer.inbound(TestServer.sms("SMlive2", body: String(repeating: "a", count: 70_000)))
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: huge.0, body: huge.1) { response in
                #expect(response.status == .contentTooLarge)
                #expect(String(buffer: response.body).contains("64 KiB"))
            }
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test("Concurrent deliveries of one MessageSid over the app produce one row and identical replies")
    func concurrentRetries() async throws {
        let server = try await TestServer()
        let (headers, form) = TestServer.inbound(TestServer.sms("SMconcurrent", body: "Do you take walk-ins?"))
        let bodies = try await server.app.test(.router) { client in
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) {
                            String(buffer: $0.body)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(Set(bodies).count == 1)
        #expect(try await server.database.tableCounts()["messages"] == 2)
    }

    @Test("The signature is checked against the public URL, never the Host header")
    func publicURLOnly() async throws {
        let server = try await TestServer()
        let parameters = TestServer.sms("SMhost", body: "hi")
        let body = ByteBuffer(string: parameters.map { "\($0.name)=\(TestServer.formEscape($0.value))" }.joined(separator: "&"))
        let hostSigned = TwilioSignature.compute(
            url: "http://localhost/webhooks/twilio/messages", parameters: parameters, secret: TestServer.token)
        try await server.app.test(.router) { client in
            let headers: HTTPFields = [
                .contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Twilio-Signature")!: hostSigned,
                HTTPField.Name("Host")!: "localhost",
            ]
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("--public-url"))
                #expect(!String(buffer: response.body).contains(TestServer.token))
            }
        }
    }

    @Test("Without an auth token, unsigned webhooks are accepted (local development)")
    func unsignedDevelopment() async throws {
        let server = try await TestServer(configure: { $0.twilioAuthToken = nil })
        try await server.app.test(.router) { client in
            let body = ByteBuffer(string: "MessageSid=SMdev&From=%2B14155550100&To=%2B15017122661&Body=hours")
            try await client.execute(
                uri: "/webhooks/twilio/messages", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: body
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("Mon-Fri"))
            }
        }
    }

    @Test("Health check answers")
    func health() async throws {
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }
}
