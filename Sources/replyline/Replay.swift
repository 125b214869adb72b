import ArgumentParser
import Foundation
import Logging
import ReplylineProviders
import ReplylineServer

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run recorded webhooks through the engine and print or check the replies.",
        discussion: "Each fixture runs on a fresh temporary database with its own clock and secrets.")

    @Argument(help: "Fixture files, or folders of them (e.g. Fixtures/twilio).") var fixtures: [String]
    @Flag(help: "Compare each reply with the recorded one; exit 1 on any difference.") var check = false
    @Option(help: "Folder the fixtures' rules files are read from.") var rules = "Rules"

    func run() async throws {
        var files: [URL] = []
        for path in fixtures {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ConfigurationError("no fixture at \(path)")
            }
            let url = URL(fileURLWithPath: path)
            files += isDirectory.boolValue ? try FixtureRunner.fixtureFiles(in: url) : [url]
        }
        guard !files.isEmpty else { throw ConfigurationError("no fixtures (.json files) in \(fixtures.joined(separator: ", "))") }
        var failures = 0
        var steps = 0
        for file in files {
            let fixture = try Fixture.load(file)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replyline-replay-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let configuration = try FixtureRunner.configuration(
                for: fixture, rulesDirectory: URL(fileURLWithPath: rules),
                databasePath: directory.appendingPathComponent("replay.sqlite").path)
            var logger = Logger(label: "replyline.replay")
            logger.logLevel = .critical
            let replyline = try AppServices(configuration, logger: logger)
            try await FixtureRunner.applySetup(fixture, to: replyline)
            let results = try await FixtureRunner.run(fixture, store: replyline.store) { request in
                try await Self.send(request, to: replyline)
            }
            steps += results.count
            for result in results {
                if check {
                    guard !result.passed else { continue }
                    failures += 1
                    print("FAIL \(file.lastPathComponent) step \(result.index + 1)")
                    if let expected = result.expected, expected != result.actual {
                        print("  expected \(expected.status) \(expected.body)\n  actual   \(result.actual.status) \(result.actual.body)")
                    } else if result.expected == nil {
                        print("  no recorded response; got \(result.actual.status) \(result.actual.body)")
                    }
                    if !result.changedTables.isEmpty {
                        print("  a refused request changed: \(result.changedTables.joined(separator: ", "))")
                    }
                } else {
                    print(
                        "# \(file.lastPathComponent) step \(result.index + 1): \(result.actual.status) \(result.actual.contentType ?? "")")
                    print(result.actual.body.hasSuffix("\n") ? result.actual.body : result.actual.body + "\n", terminator: "")
                }
            }
        }
        if check {
            print("\(steps - failures) passed, \(failures) failed")
            if failures > 0 { throw ExitCode(1) }
        }
    }

    /// Webhooks go straight to their provider's pipeline: replay needs no HTTP server.
    static func send(_ request: Fixture.Request, to replyline: AppServices) async throws -> Fixture.Response {
        let path = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.path
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard request.method == "POST", parts.count == 4, parts[0].isEmpty, parts[1] == "webhooks", parts[3] == "messages",
            let webhooks = replyline.webhooks[String(parts[2])]
        else {
            throw ConfigurationError(
                "replay sends only POST /webhooks/{provider}/messages (\(replyline.providers.names.joined(separator: ", "))), not \(request.method) \(request.path)"
            )
        }
        let answer = await webhooks.inbound(
            WebhookRequest(target: request.path, headers: request.headers.map { ($0[0], $0[1]) }, body: request.bodyBytes))
        return Fixture.Response(status: answer.status, contentType: answer.contentType, body: answer.body)
    }
}
