import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineProviders
import ReplylineServer
import Synchronization

/// A small real HTTP server on 127.0.0.1 that answers like Twilio's Messages API, records
/// every request, and can be told to fail, refuse or delay.
final class FakeTwilio: Sendable {
    struct Request: Sendable {
        var path: String
        var authorization: String?
        var form: [(name: String, value: String)]

        subscript(name: String) -> String? { form.first { $0.name == name }?.value }
    }

    struct Answer: Sendable {
        var status: Int
        var body: String
        var delay: Duration?

        static func accepted(_ sid: String) -> Answer { Answer(status: 201, body: #"{"sid": "\#(sid)", "status": "queued"}"#, delay: nil) }
        static func error(_ status: Int, code: Int, message: String) -> Answer {
            Answer(status: status, body: #"{"code": \#(code), "message": "\#(message)", "status": \#(status)}"#, delay: nil)
        }
    }

    static let account = "AC00000000000000000000000000000001"
    static let token = "fake-twilio-token"

    let requests = Mutex<[Request]>([])
    let script = Mutex<[Answer]>([])
    let counter = Mutex(0)

    /// Queues answers for the next requests; once they run out, every message is accepted.
    func answer(_ answers: Answer...) { script.withLock { $0 += answers } }

    var received: [Request] { requests.withLock { $0 } }

    var application: some ApplicationProtocol {
        let router = Router()
        router.post("2010-04-01/Accounts/{account}/Messages.json") { request, context -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let form = (try? FormBody.decode(Array(buffer: body)))?.pairs ?? []
            self.requests.withLock {
                $0.append(Request(path: request.uri.path, authorization: request.headers[.authorization], form: form))
            }
            let answer =
                self.script.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                ?? .accepted(
                    "SM"
                        + String(
                            format: "%032x",
                            self.counter.withLock {
                                $0 += 1
                                return $0
                            }))
            if let delay = answer.delay { try await Task.sleep(for: delay) }
            return Response(
                status: .init(code: answer.status), headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Runs `body` with the fake listening; its base URL is `http://127.0.0.1:PORT`.
    func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        try await application.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }
}

extension TestServer {
    /// A server that sends through `fake` at `baseURL`.
    static func sendingThrough(_ baseURL: String, configure: (inout ServerConfiguration) throws -> Void = { _ in }) async throws
        -> TestServer
    {
        try await TestServer(
            configure: { configuration in
                configuration.twilioAccountSID = FakeTwilio.account
                configuration.twilioAPIBaseURL = baseURL
                try configure(&configuration)
            }, sender: nil)
    }
}
