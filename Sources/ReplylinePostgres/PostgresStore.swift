import Foundation
import Logging
import PostgresNIO
import ReplylineCore
import ReplylineStore
import Synchronization
import _ConnectionPoolModule

/// The store on PostgreSQL, for several Replyline instances on one database: the same
/// contract, schema meaning and migration history as the SQLite store.
///
/// Each operation is one transaction on a pooled connection, and every write that reads a
/// contact's state first takes that contact's transaction-scoped advisory lock, so two
/// instances apply one contact's messages one after the other, as a single one would.
/// Commits are durable (`synchronous_commit` as the server has it, `on` by default), and
/// concurrent commits share the server's WAL flushes.
public final class PostgresStore: ConversationStore {
    let client: PostgresClient
    let location: PostgresLocation
    let running: Task<Void, Never>
    let inbound = InboundCommitter()
    /// The inbox events every instance NOTIFYs, fed from the first `inboxEvents` on by a
    /// connection of its own that listens.
    let eventHub = InboxEventHub()
    let inboxChannel: String
    let listenerConfiguration: PostgresConnection.Configuration
    let listener = Mutex<(listening: Task<Void, Never>?, ready: Task<Void, Never>?)>((nil, nil))
    static let logger = Logger(label: "replyline.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Connects to `location`, checks that the server answers, and applies the migrations
    /// that are missing (one instance at a time, under an advisory lock).
    /// - Parameters:
    ///   - schema: the schema to use instead of the user's default (tests use one each).
    ///   - connections: the most connections this instance opens.
    ///   - connectionWait: how long an operation waits for a connection before the store
    ///     counts as unavailable (tests that load one server with many stores wait longer).
    public init(
        location: PostgresLocation, schema: String? = nil, connections: Int = 16, connectionWait: Duration = defaultConnectionWait
    ) async throws {
        self.location = location
        self.connectionWait = connectionWait
        inboxChannel = Self.inboxChannel(schema: schema)
        // One connection first: an unreachable server or a refused login is an error with
        // its cause now, rather than a pool retrying in the background.
        do {
            listenerConfiguration = try location.connectionConfiguration(schema: schema)
            let probe = try await PostgresConnection.connect(configuration: listenerConfiguration, id: 0, logger: Self.logger)
            try await probe.close()
        } catch {
            throw Self.unavailable(error, at: location) ?? error
        }
        let client = PostgresClient(configuration: location.clientConfiguration(connections: connections, schema: schema))
        self.client = client
        running = Task { await client.run() }
        do {
            try await migrate(creatingSchema: schema)
        } catch {
            running.cancel()
            throw error
        }
    }

    deinit {
        running.cancel()
        listener.withLock { $0.listening?.cancel() }
    }

    /// Closes the pool's connections, and the listening one if there is one.
    public func close() async {
        running.cancel()
        let listening = listener.withLock { $0.listening }
        listening?.cancel()
        _ = await running.value
        _ = await listening?.value
    }

    static func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    // MARK: Transactions

    /// Runs `work` in a transaction and returns once it is committed. A deadlock or
    /// serialization failure runs it again (so it must do nothing outside the database);
    /// an unreachable or full database throws `StoreUnavailable`: nothing was committed.
    func write<T: Sendable>(
        limit: Duration = operationLimit, _ work: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await transaction("BEGIN", limit: limit, work)
    }

    /// Runs `work` in a read-only transaction that sees one snapshot throughout.
    func read<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", limit: Self.operationLimit, work)
    }

    /// How long an operation waits for a connection before the database counts as down:
    /// while PostgreSQL is unreachable the pool keeps trying to connect, and a webhook
    /// answers 503 (the provider retries) rather than waiting out the provider's timeout.
    public static let defaultConnectionWait: Duration = .seconds(5)
    let connectionWait: Duration

    /// How long an operation may take before it counts as lost (a query on a connection
    /// that died with the server, seen when PostgreSQL stopped under load): well within
    /// Twilio's 15 s for a webhook, and longer than any operation's queries take; a
    /// migration or a copy sets its own.
    static let operationLimit: Duration = .seconds(10)

    /// Runs `work` on a pooled connection; throws `StoreUnavailable` when none is had
    /// within `connectionWait`, or when the work has no answer within `limit` of its start
    /// (at least `connectionWait`).
    ///
    /// The caller is answered then and there, not when the work's task ends: a connection
    /// request or a query on a dead socket may ignore cancellation (seen while PostgreSQL
    /// stopped under load: requests hung past the provider's timeout and held up SIGTERM).
    /// Work answered this way may still commit later; an inbound message then answers a
    /// retry with its stored reply, as any retry does.
    func withConnection<T: Sendable>(
        limit: Duration = operationLimit, _ work: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let started = Flag()
        let place = "PostgreSQL at \(location.host):\(location.port)"
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let answer = AnswerOnce(continuation)
            let operation = Task { [client] in
                do {
                    answer.resume(
                        with: .success(
                            try await client.withConnection { connection in
                                started.set()
                                return try await work(connection)
                            }))
                } catch {
                    answer.resume(with: .failure(error))
                }
            }
            let timer = Task { [connectionWait] in
                try await Task.sleep(for: connectionWait)
                guard started.isSet else {
                    answer.resume(with: .failure(StoreUnavailable(reason: "\(place) gave no connection within \(connectionWait)")))
                    operation.cancel()
                    return
                }
                try await Task.sleep(for: max(limit - connectionWait, .zero))
                answer.resume(with: .failure(StoreUnavailable(reason: "\(place) gave no answer within \(limit)")))
                operation.cancel()
            }
            answer.onResume { timer.cancel() }
        }
    }

    /// Runs `work` on a pooled connection, outside any transaction.
    func run<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await withConnection(work)
        } catch {
            throw unavailable(error) ?? error
        }
    }

    /// Whether the database answers now (`/healthz`).
    public func checkAvailable() async throws {
        try await run { connection in try await connection.run("SELECT 1") }
    }

    /// Runs `work` in a transaction begun with `begin`, within `limit`; after a deadlock or
    /// a serialization failure, runs it again up to four times when `retries` is set.
    func transaction<T: Sendable>(
        _ begin: String, limit: Duration, retries: Bool = true, _ work: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection(limit: limit) { connection in
                    try await connection.run(PostgresQuery(unsafeSQL: begin))
                    do {
                        let value = try await work(connection)
                        try await connection.run("COMMIT")
                        return value
                    } catch {
                        // A connection that broke has no transaction left to roll back.
                        try? await connection.run("ROLLBACK")
                        throw error
                    }
                }
            } catch let error as PSQLError where retries && Self.isRetryable(error) && attempt < 5 {
                attempt += 1
            } catch {
                throw unavailable(error) ?? error
            }
        }
    }

    /// Deadlocks (two transactions locking rows in opposite orders) and serialization
    /// failures roll back without effect; the transaction can simply run again.
    static func isRetryable(_ error: PSQLError) -> Bool {
        let state = error.serverInfo?[.sqlState]
        return state == "40P01" || state == "40001"
    }

    /// The error as `StoreUnavailable` when the database cannot store anything now: it is
    /// unreachable, shutting down, out of space, or a read-only standby.
    func unavailable(_ error: any Error) -> StoreUnavailable? { Self.unavailable(error, at: location) }

    static func unavailable(_ error: any Error, at location: PostgresLocation) -> StoreUnavailable? {
        let place = "PostgreSQL at \(location.host):\(location.port)"
        if error is ConnectionPoolError {
            return StoreUnavailable(reason: "\(place) cannot be reached")
        }
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            let cause = error.underlying.map { " (\(Self.cause($0)))" } ?? ""
            return StoreUnavailable(reason: "\(place) cannot be reached\(cause)")
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "no message"
            if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P") || state == "25006" {
                return StoreUnavailable(reason: "\(place) refused the write: \(message) (SQLSTATE \(state))")
            }
            return nil
        default:
            return nil
        }
    }

    /// What went wrong, in the server's words when it said something: PSQLError's own
    /// description is generic on purpose (it may hold data).
    public static func explain(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
        }
        return error.underlying.map(cause) ?? "\(error.code)"
    }

    /// The root of a connection error in a few words: "Connection refused (errno: 111)".
    static func cause(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "its TLS certificate failed verification; with sslmode=verify-full or verify-ca it must chain to a trusted root"
        }
        if text.contains("handshakeFailed") { return "the TLS handshake failed" }
        if let range = text.range(of: #"[A-Z][a-z]+( [a-z]+)* \(errno: \d+\)"#, options: .regularExpression) { return String(text[range]) }
        return String(text.prefix(200))
    }

    /// Takes the advisory lock of one contact until the transaction ends: every write that
    /// reads a contact's state and acts on it holds it, on every instance.
    static func lockContact(_ connection: PostgresConnection, businessID: String, phone: String) async throws {
        _ = try await connection.execute(LockContactStatement(businessID: businessID, phone: phone), logger: logger)
    }

    // MARK: Backups and checks

    /// A copy of a PostgreSQL store is PostgreSQL's to make (pg_dump, or `replyline copy`
    /// into a SQLite file); the store itself writes no SQLite file.
    public func backup(to path: String) async throws {
        throw BackupError(
            "\(location) is PostgreSQL: back it up with pg_dump, or copy it into a SQLite file with `replyline copy --to \(path)`")
    }

    /// "ok" when the server answers and the schema is the one this build expects.
    public func integrityCheck() async throws -> String {
        try await read { connection in
            let version = try await connection.row("SELECT MAX(version) FROM replyline_schema")?.get(0, as: Int64?.self) ?? 0
            return version == Self.migrations.last!.version ? "ok" : "schema version \(version), expected \(Self.migrations.last!.version)"
        }
    }

    /// Rows per kind of record, for checks that bad input changed nothing.
    public func tableCounts() async throws -> [String: Int] {
        try await read { connection in
            var counts: [String: Int] = [:]
            for table in ["contacts", "conversations", "messages", "appointments", "consent_events", "outbox", "calls", "call_sms"] {
                counts[table] = try await connection.row(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"))?.get(0, as: Int.self)
            }
            return counts
        }
    }

    /// The businesses that have contacts in this database, by id.
    public func businessIDs() async throws -> [String] {
        try await read { connection in
            try await connection.rows("SELECT DISTINCT business_id FROM contacts ORDER BY business_id").map { try $0.get(0) }
        }
    }
}

extension PostgresConnection {
    /// Runs `query` and drops what it returns.
    func run(_ query: PostgresQuery) async throws {
        _ = try await self.query(query, logger: PostgresStore.logger).collect()
    }

    /// The rows `query` returns.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: PostgresStore.logger).collect().map { $0.makeRandomAccess() }
    }

    /// The rows the prepared `statement` returns.
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row] {
        var rows: [Statement.Row] = []
        for try await row in try await execute(statement, logger: PostgresStore.logger) { rows.append(row) }
        return rows
    }

    /// The first row `query` returns, if any.
    func row(_ query: PostgresQuery) async throws -> PostgresRandomAccessRow? {
        try await rows(query).first
    }
}

extension PostgresRandomAccessRow {
    /// The value of column `index`.
    func get<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        try self[index].decode(T.self)
    }

    /// The stored name in column `index` as `E`; an unknown one fails the operation (the
    /// caller's request), never the process.
    func named<E: RawRepresentable>(_ index: Int, as type: E.Type = E.self) throws -> E where E.RawValue == String {
        let text = try get(index, as: String.self)
        guard let value = E(rawValue: text) else { throw StoredValueError("`\(text)` is not a known \(E.self)") }
        return value
    }
}

/// A flag set once, read from other tasks.
final class Flag: Sendable {
    private let value = Mutex(false)

    func set() { value.withLock { $0 = true } }

    var isSet: Bool { value.withLock { $0 } }
}

/// A continuation resumed by whichever comes first, the work or its deadline.
final class AnswerOnce<T: Sendable>: Sendable {
    private let state: Mutex<(continuation: CheckedContinuation<T, any Error>?, onResume: (@Sendable () -> Void)?)>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        state = Mutex((continuation, nil))
    }

    func resume(with result: Result<T, any Error>) {
        let (continuation, onResume) = state.withLock { state in
            defer { state = (nil, nil) }
            return (state.continuation, state.onResume)
        }
        continuation?.resume(with: result)
        onResume?()
    }

    /// Runs `action` once answered (at once if already answered).
    func onResume(_ action: @escaping @Sendable () -> Void) {
        let answered = state.withLock { state in
            guard state.continuation != nil else { return true }
            state.onResume = action
            return false
        }
        if answered { action() }
    }
}
