import Foundation
import Logging
import ReplylineCore
import ReplylineStore
import Synchronization

/// Runs a fixture against a fresh Replyline on a temporary SQLite file: applies its
/// setup, sends each request through `send`, and reports each answer beside the expected
/// one. After a refused request (non-2xx) it also checks that no table changed.
public struct FixtureRunner {
    public struct StepResult: Sendable {
        public var index: Int
        public var expected: Fixture.Response?
        public var actual: Fixture.Response
        /// Set when a refused request changed the database.
        public var changedTables: [String]

        public var passed: Bool { expected == actual && changedTables.isEmpty }
    }

    public static let defaultPublicURL = "https://replyline.example.com"
    public static let defaultNow = "2026-11-25T15:00:00Z"

    /// Builds the configuration a fixture runs under. `rulesDirectory` resolves the
    /// fixture's `rules` (default `default.yml`).
    public static func configuration(for fixture: Fixture, rulesDirectory: URL, databasePath: String) throws -> ServerConfiguration {
        let config = fixture.config
        let rules = try RulesLoader.load(contentsOf: rulesDirectory.appendingPathComponent(config?.rules ?? "default.yml"))
        var configuration = ServerConfiguration()
        configuration.databasePath = databasePath
        configuration.publicURL = config?.publicURL ?? defaultPublicURL
        configuration.twilioAuthToken = config?.authToken
        configuration.twilioSharedKey = config?.sharedKey
        configuration.businesses = [
            BusinessConfiguration(id: "default", rules: rules, numbers: config?.numbers ?? [], apiKey: "fixture-api-key")
        ]
        guard let now = RFC3339.date(from: config?.now ?? defaultNow) else {
            throw FixtureError("config.now must be an RFC 3339 time with an offset")
        }
        configuration.now = { now }
        let counter = IDCounter()
        configuration.makeID = { prefix in "\(prefix)_\(counter.next())" }
        configuration.runsOutboxWorker = false
        return configuration
    }

    /// Applies the fixture's setup through the same operations the API uses.
    public static func applySetup(_ fixture: Fixture, to replyline: AppServices) async throws {
        guard let business = replyline.directory.businesses.first else { return }
        for item in fixture.setup?.appointments ?? [] {
            let body = AppointmentsController.NewAppointmentBody(
                phone: item.phone, customer_name: item.customerName, service: item.service, starts_at: item.startsAt, amount: item.amount)
            let new = try AppointmentsController.validate(
                body, business: business, now: replyline.configuration.now(), id: replyline.configuration.makeID("apt"))
            _ = try await replyline.outbound.createAppointment(new, for: business)
        }
    }

    /// Runs every step through `send` and compares.
    public static func run(
        _ fixture: Fixture, store: any ConversationStore,
        send: (Fixture.Request) async throws -> Fixture.Response
    ) async throws -> [StepResult] {
        var results: [StepResult] = []
        for (index, step) in fixture.steps.enumerated() {
            let before = try await store.tableCounts()
            let actual = try await send(step.request)
            var changed: [String] = []
            if !(200..<300).contains(actual.status) {
                let after = try await store.tableCounts()
                changed = after.keys.filter { after[$0] != before[$0] }.sorted()
            }
            results.append(StepResult(index: index, expected: step.response, actual: actual, changedTables: changed))
        }
        return results
    }

    /// The fixture files under `directory`, sorted, skipping the ones starting with `_`.
    public static func fixtureFiles(in directory: URL) throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix("_") }.sorted().map { directory.appendingPathComponent($0) }
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A thread-safe counter for predictable ids.
final class IDCounter: Sendable {
    let value = Mutex(0)

    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
