import Foundation
import PostgresNIO
import ReplylineStore
import Synchronization

extension PostgresStore {
    /// The business's inbox events from every instance on this database. The first call
    /// starts listening (see `listenForInboxEvents`) and returns once the LISTEN is in place,
    /// or has failed while the database is away.
    public func inboxEvents(businessID: String) async -> InboxEventSubscription {
        let subscription = eventHub.subscribe(businessID: businessID)
        let ready = listener.withLock { listener in
            if let ready = listener.ready { return ready }
            let (listening, signal) = AsyncStream.makeStream(of: Void.self)
            listener.listening = Task { [listenerConfiguration, inboxChannel, eventHub] in
                await Self.listenForInboxEvents(
                    configuration: listenerConfiguration, channel: inboxChannel, hub: eventHub, listening: { signal.finish() })
            }
            let ready = Task { for await _ in listening {} }
            listener.ready = ready
            return ready
        }
        await ready.value
        return subscription
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

    /// Listens on `channel` on a connection of its own and publishes what arrives into `hub`
    /// until cancelled, connecting again each time the connection is lost: after a quarter
    /// of a second, doubling up to two while the database stays away. `listening` is called
    /// when a LISTEN is in place or an attempt failed.
    ///
    /// What committed between losing a connection and listening again was not heard, so
    /// listening again ends the hub's subscriptions: each page's stream reconnects, and
    /// the page refreshes.
    static func listenForInboxEvents(
        configuration: PostgresConnection.Configuration, channel: String, hub: InboxEventHub, listening: @Sendable () -> Void
    ) async {
        var delay = Duration.milliseconds(250)
        var lost = false
        while !Task.isCancelled {
            do {
                let current = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                do {
                    try await current.listen(on: channel) { notifications in
                        listening()
                        if lost { hub.endSubscriptions() }
                        lost = true
                        delay = .milliseconds(250)
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
            delay = min(delay * 2, .seconds(2))
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
