import Foundation
import PostgresNIO
import ReplylineStore
import Synchronization

extension PostgresStore {
    /// The business's inbox events from every instance on this database (see `listenForInboxEvents`).
    public func inboxEvents(businessID: String) -> InboxEventSubscription {
        eventHub.subscribe(businessID: businessID)
    }

    /// The NOTIFY channel of this store's schema: one channel per database would mix the
    /// events of deployments (or tests) that share it under different schemas.
    static func inboxChannel(schema: String?) -> String {
        schema.map { "replyline_inbox_\($0)" } ?? "replyline_inbox"
    }

    /// Runs `work` as `write` does, and NOTIFYs the inbox events it returns in the same
    /// transaction: PostgreSQL delivers them on commit, to every instance's listener, this
    /// one's included, and never for a transaction rolled back.
    func write<T: Sendable>(
        notifying work: @escaping @Sendable (PostgresConnection) async throws -> (T, [InboxEvent])
    ) async throws -> T {
        try await write { [inboxChannel] connection in
            let (value, events) = try await work(connection)
            try await Self.notify(events, channel: inboxChannel, on: connection)
            return value
        }
    }

    /// NOTIFYs `events` in the caller's transaction, in one statement.
    static func notify(_ events: [InboxEvent], channel: String, on connection: PostgresConnection) async throws {
        guard !events.isEmpty else { return }
        _ = try await connection.rows(NotifyInboxStatement(channel: channel, payloads: events.map(\.payload)))
    }

    /// Listens on `channel` and publishes what arrives into `hub` until cancelled, first on
    /// `connection`, then on a new connection each time one is lost: after half a second,
    /// doubling up to five while the database stays away. `listening` is called once, when
    /// the first LISTEN is in place or has failed.
    static func listenForInboxEvents(
        on connection: PostgresConnection?, configuration: PostgresConnection.Configuration, channel: String, hub: InboxEventHub,
        listening: @escaping @Sendable () -> Void
    ) async {
        var next = connection
        var delay = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                let current: PostgresConnection
                if let connection = next {
                    current = connection
                    next = nil
                } else {
                    current = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                }
                do {
                    try await current.listen(on: channel) { notifications in
                        listening()
                        delay = .milliseconds(500)
                        for try await notification in notifications {
                            if let event = InboxEvent(payload: notification.payload) { hub.publish(event) }
                        }
                    }
                } catch {
                    // The connection was lost (or the LISTEN refused): connect again below.
                }
                try? await current.close()
            } catch {
                // No connection: the database is away; try again after the delay.
            }
            listening()
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}

/// NOTIFYs each payload on the channel (`pg_notify`, so the channel is a parameter).
struct NotifyInboxStatement: PostgresPreparedStatement {
    static let name = "replyline_notify_inbox"
    static let sql = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload"
    typealias Row = ()

    var channel: String
    var payloads: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(channel)
        bindings.append(payloads)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Runs an action once, whichever of several callers comes first.
final class Once: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>

    init(_ action: @escaping @Sendable () -> Void) { self.action = Mutex(action) }

    func callAsFunction() {
        let action = self.action.withLock { action in
            defer { action = nil }
            return action
        }
        action?()
    }
}
