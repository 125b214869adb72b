import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineServer
import Testing

/// Every recorded webhook in `Fixtures/twilio`, through the real app and a real SQLite
/// file. `UPDATE_FIXTURES=1 swift test` rewrites the expected responses; review the diff.
@Suite("Twilio fixtures")
struct FixtureTests {
    static let files = (try? FixtureRunner.fixtureFiles(in: Repository.twilioFixtures)) ?? []
    static let updating = ProcessInfo.processInfo.environment["UPDATE_FIXTURES"] == "1"

    @Test("There are at least 30 recorded inbound requests")
    func enough() {
        #expect(Self.files.count >= 30)
    }

    @Test("Each recorded webhook gets its recorded response", arguments: files)
    func replay(file: URL) async throws {
        let recorded = try Fixture.load(file)
        let temp = try TemporaryDirectory()
        let configuration = try FixtureRunner.configuration(
            for: recorded, rulesDirectory: Repository.rules, databasePath: temp.url.appendingPathComponent("fixture.sqlite").path)
        let replyline = try AppServices(configuration, logger: TestServer.quietLogger)
        try await FixtureRunner.applySetup(recorded, to: replyline)
        let results = try await buildApplication(replyline).test(.router) { client in
            try await FixtureRunner.run(recorded, store: replyline.store) { request in
                var headers = HTTPFields()
                for pair in request.headers { headers.append(HTTPField(name: HTTPField.Name(pair[0])!, value: pair[1])) }
                let response = try await client.execute(
                    uri: request.path, method: HTTPRequest.Method(request.method)!, headers: headers,
                    body: ByteBuffer(bytes: request.bodyBytes))
                return Fixture.Response(
                    status: response.status.code, contentType: response.headers[.contentType], body: String(buffer: response.body))
            }
        }
        var fixture = recorded
        for result in results {
            #expect(result.changedTables.isEmpty, "step \(result.index + 1) was refused but changed \(result.changedTables)")
            if Self.updating {
                fixture.steps[result.index].response = result.actual
            } else {
                let expected = try #require(
                    result.expected,
                    "\(file.lastPathComponent) step \(result.index + 1) has no recorded response; run UPDATE_FIXTURES=1 swift test")
                #expect(result.actual == expected, "\(file.lastPathComponent) step \(result.index + 1)")
            }
        }
        if Self.updating { try fixture.write(to: file) }
    }
}
