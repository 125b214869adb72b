import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ReplylineCore
import ReplylinePostgres
import ReplylineProviders
import ReplylineSQLite
import ReplylineServer
import ReplylineStore
import Synchronization

enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let rules = root.appendingPathComponent("Rules")
    static let twilioFixtures = root.appendingPathComponent("Fixtures/twilio")
}

/// A fresh folder under the temporary directory, removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("replyline-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The store every test server uses: SQLite unless `REPLYLINE_TEST_STORE=postgres`, then a
/// schema of its own on the PostgreSQL server `REPLYLINE_TEST_POSTGRES_URL` names
/// (`scripts/postgres run -- swift test` starts one). The same tests run on each.
enum TestBackend: String {
    case sqlite, postgres

    static let current: TestBackend = {
        let name = ProcessInfo.processInfo.environment["REPLYLINE_TEST_STORE"] ?? "sqlite"
        guard let backend = TestBackend(rawValue: name) else { fatalError("REPLYLINE_TEST_STORE=\(name): expected sqlite or postgres") }
        return backend
    }()

    static var isSQLite: Bool { current == .sqlite }

    /// A fresh store: a SQLite file in `directory`, or a new schema on the test server.
    static func makeStore(in directory: TemporaryDirectory) async throws -> any ConversationStore {
        switch current {
        case .sqlite:
            return try AppDatabase(path: directory.url.appendingPathComponent("test.sqlite").path)
        case .postgres:
            // Missing, it fails the run rather than quietly testing SQLite twice.
            guard let url = ProcessInfo.processInfo.environment["REPLYLINE_TEST_POSTGRES_URL"] else {
                throw TestSetupError(
                    "REPLYLINE_TEST_STORE=postgres needs REPLYLINE_TEST_POSTGRES_URL; run the tests under scripts/postgres run -- swift test"
                )
            }
            let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            return try await PostgresStore(
                location: PostgresLocation(url: url), schema: schema, connections: 4, connectionWait: .seconds(60))
        }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A Replyline on a fresh store (see `TestBackend`), removed when the value goes away.
final class TestServer: Sendable {
    static let token = "d3c5f0a4b7e94c1f8a2b6e0d9c4f7a13"
    static let publicURL = "https://replyline.example.com"
    static let business = "+15017122661"

    let directory: TemporaryDirectory
    let replyline: AppServices
    /// The store under `replyline`, for reading what it holds.
    let database: any ConversationStore
    /// The same store when it is SQLite's, for the tests of what only that store does.
    var sqlite: AppDatabase? { database as? AppDatabase }

    let clock = TestClock()

    /// - Parameters:
    ///   - providers: the providers, made from the configuration; Twilio alone by default.
    ///   - store: the store the app uses, given the test's store; that one by default.
    init(
        configure: (inout ServerConfiguration) throws -> Void = { _ in },
        providers: (ServerConfiguration) -> ProviderRegistry = ProviderRegistry.standard, sender: (any MessageSender)? = ConsoleSender(),
        store: (any ConversationStore) -> any ConversationStore = { $0 }
    ) async throws {
        directory = try TemporaryDirectory()
        var configuration = ServerConfiguration()
        configuration.databasePath = directory.url.appendingPathComponent("test.sqlite").path
        configuration.publicURL = Self.publicURL
        configuration.twilioAuthToken = Self.token
        let rules = try RulesLoader.load(contentsOf: Repository.rules.appendingPathComponent("default.yml"))
        configuration.businesses = [BusinessConfiguration(id: "clinic", rules: rules, numbers: [Self.business], apiKey: "key-clinic")]
        let clock = self.clock
        configuration.now = { clock.now }
        configuration.runsOutboxWorker = false
        // Live tests share two cores with hundreds of others, slower still under the thread
        // sanitizer: a client starved past the 10 s request deadline had its connection
        // closed. The deadline itself is tested on its handler (RequestDeadlineTests).
        configuration.requestTimeout = .seconds(120)
        try configure(&configuration)
        database = try await TestBackend.makeStore(in: directory)
        replyline = try AppServices(
            configuration, store: store(database), providers: providers(configuration), sender: sender, logger: Self.quietLogger)
    }

    /// Two businesses on one deployment: the clinic (its key `key-clinic`, its number
    /// `+15017122661`) and a salon (`key-salon`, `+13125550148`, Messaging Service MGsalon).
    static func twoBusinesses() async throws -> TestServer {
        try await TestServer { configuration in
            let salon = try RulesLoader.load(contentsOf: Repository.rules.appendingPathComponent("salon.yml"))
            configuration.businesses.append(
                BusinessConfiguration(
                    id: "salon", rules: salon, numbers: [salonNumber], messagingServiceIDs: ["MGsalon"], apiKey: "key-salon"))
        }
    }

    static let salonNumber = "+13125550148"

    static var quietLogger: Logger {
        var logger = Logger(label: "replyline.test")
        logger.logLevel = .critical
        return logger
    }

    var app: some ApplicationProtocol { buildApplication(replyline) }

    /// A signed inbound-message request, as Twilio would send it.
    static func inbound(_ parameters: [(name: String, value: String)], path: String = "/webhooks/twilio/messages") -> (
        HTTPFields, ByteBuffer
    ) {
        let body = parameters.map { "\(formEscape($0.name))=\(formEscape($0.value))" }.joined(separator: "&")
        let signature = TwilioSignature.compute(url: publicURL + path, parameters: parameters, secret: token)
        let headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Twilio-Signature")!: signature]
        return (headers, ByteBuffer(string: body))
    }

    static func sms(_ sid: String, from: String = "+14155550100", to: String = business, body: String) -> [(name: String, value: String)] {
        [("MessageSid", sid), ("AccountSid", "AC0000"), ("From", from), ("To", to), ("Body", body), ("NumMedia", "0")]
    }

    static func formEscape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return text.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: "%20", with: "+")
    }
}

/// JSON helpers for API tests.
extension TestClientProtocol {
    /// Sends a request with `key` and returns the status and the decoded JSON object.
    func json(
        _ method: HTTPRequest.Method, _ uri: String, key: String = "key-clinic", body: String? = nil
    ) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
        var headers: HTTPFields = [.authorization: "Bearer \(key)"]
        if body != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
            return (response.status, object)
        }
    }

    /// Texts the app as `from`, signed, and returns the TwiML.
    @discardableResult
    func text(_ body: String, sid: String, from: String = "+14155550100", to: String = TestServer.business) async throws -> String {
        let (headers, form) = TestServer.inbound(TestServer.sms(sid, from: from, to: to, body: body))
        return try await execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) { String(buffer: $0.body) }
    }
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    let current = Mutex(Date(timeIntervalSince1970: 1_795_618_800))

    var now: Date { current.withLock { $0 } }

    func advance(hours: Double) { current.withLock { $0 = $0.addingTimeInterval(hours * 3600) } }
}

/// Records what the outbox would send.
final class RecordingSender: MessageSender {
    let name = "recording"
    let sent = Mutex<[StoredMessage]>([])

    func send(_ message: StoredMessage) async -> SendResult {
        sent.withLock { $0.append(message) }
        return .sent(providerMessageID: "SMout\(message.id?.rawValue ?? 0)", status: .queued)
    }
}

extension ConversationStore {
    /// Claims `entry` alone for `owner`, as a worker's pass deciding to send it would, and
    /// begins its attempt, as the worker does just before calling the provider.
    func claim(_ entry: OutboxEntry, owner: String, now: Date) async throws -> Bool {
        let decided = try await claimDue(owner: owner, now: now, limit: 100) { $0.entry.id == entry.id ? .send : nil }
        guard decided.contains(where: { $0.item.entry.id == entry.id && $0.decision == .send }) else { return false }
        return try await beginSend(entry, owner: owner, now: now) == .begun
    }
}
