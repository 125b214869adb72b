import Synchronization

/// Hands each business's inbox events to that business's subscribers on this instance
/// (the staff pages' live feeds). The SQLite store publishes into it after each commit;
/// the PostgreSQL store from its LISTEN connection, so every instance's pages see every
/// instance's changes.
///
/// Memory stays bounded whatever the subscribers do: a business's newest `keep` events are
/// kept once for all of its subscribers, and each subscriber holds only its place in them.
/// One that falls further behind (a slow client) gets the newest `keep` and misses the
/// rest; a page refreshes on any event, so the newest is what matters. Publishing costs
/// the same with one subscriber or two hundred, plus a wake-up for each one waiting.
public final class InboxEventHub: Sendable {
    /// An event numbered in the order this hub published it (a live feed's event id).
    public struct Numbered: Sendable, Hashable {
        public let number: UInt64
        public let event: InboxEvent

        public init(number: UInt64, event: InboxEvent) {
            self.number = number
            self.event = event
        }
    }

    /// A business with subscribers: its newest events, oldest first (up to twice `keep`,
    /// trimmed in bulk), its subscribers and those waiting for the next event.
    struct Topic {
        var recent: [Numbered] = []
        var subscribers: [Int: AsyncStream<Void>.Continuation] = [:]
        var waiting: [Int: AsyncStream<Void>.Continuation] = [:]
    }

    struct State {
        var topics: [String: Topic] = [:]
        var lastNumber: UInt64 = 0
        var lastSubscriber = 0
    }

    private let state = Mutex(State())
    /// How many of a business's newest events a subscriber can fall behind by and still get all.
    public let keep: Int

    public init(keep: Int = 64) {
        precondition(keep > 0)
        self.keep = keep
    }

    /// Delivers `events` to their businesses' subscribers; an event of a business without
    /// subscribers is dropped.
    public func publish(_ events: some Sequence<InboxEvent>) {
        var wake: [AsyncStream<Void>.Continuation] = []
        state.withLock { state in
            for event in events where state.topics[event.businessID] != nil {
                state.lastNumber += 1
                let numbered = Numbered(number: state.lastNumber, event: event)
                state.topics[event.businessID]!.recent.append(numbered)
                if state.topics[event.businessID]!.recent.count > 2 * keep {
                    state.topics[event.businessID]!.recent.removeFirst(keep)
                }
                wake.append(contentsOf: state.topics[event.businessID]!.waiting.values)
                state.topics[event.businessID]!.waiting.removeAll(keepingCapacity: true)
            }
        }
        for continuation in wake { continuation.yield() }
    }

    public func publish(_ event: InboxEvent) { publish(CollectionOfOne(event)) }

    /// A subscription to `businessID`'s events from now on. Its iteration ends when the
    /// iterating task is cancelled; it is cancelled here once nothing holds it.
    public func subscribe(businessID: String) -> InboxEventSubscription {
        let (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (id, start) = state.withLock { state in
            state.lastSubscriber += 1
            state.topics[businessID, default: Topic()].subscribers[state.lastSubscriber] = continuation
            return (state.lastSubscriber, state.lastNumber)
        }
        let registration = InboxEventSubscription.Registration(
            hub: self, businessID: businessID, id: id, start: start, continuation: continuation)
        return InboxEventSubscription(registration: registration, wakeups: wakeups)
    }

    /// How many subscriptions are open (for tests and metrics).
    public var subscriberCount: Int { state.withLock { $0.topics.values.reduce(0) { $0 + $1.subscribers.count } } }

    /// Ends every subscription after the events already published: for when events may have
    /// been missed (a PostgreSQL listener that lost its connection), so that each client
    /// subscribes again and refreshes.
    public func endSubscriptions() {
        let all = state.withLock { $0.topics.values.flatMap(\.subscribers.values) }
        for continuation in all { continuation.finish() }
    }

    fileprivate func unsubscribe(_ id: Int, from businessID: String) {
        state.withLock { state in
            state.topics[businessID]?.subscribers[id] = nil
            state.topics[businessID]?.waiting[id] = nil
            if state.topics[businessID]?.subscribers.isEmpty == true { state.topics[businessID] = nil }
        }
    }

    /// The events of `businessID` numbered after `cursor` (the newest `keep` of them); when
    /// there are none, the subscriber is put with those waiting for the next one.
    fileprivate func take(
        _ businessID: String, after cursor: UInt64, subscriber id: Int, continuation: AsyncStream<Void>.Continuation
    ) -> ArraySlice<Numbered> {
        state.withLock { state in
            guard let recent = state.topics[businessID]?.recent else { return [] }
            var start = recent.endIndex
            while start > recent.startIndex, recent[start - 1].number > cursor, recent.endIndex - start < keep { start -= 1 }
            if start == recent.endIndex { state.topics[businessID]?.waiting[id] = continuation }
            return recent[start...]
        }
    }
}

/// One subscriber's view of a business's inbox events: each element holds the events
/// published since the previous one, oldest first; an empty element answers `wake()`.
public struct InboxEventSubscription: AsyncSequence, Sendable {
    public typealias Element = [InboxEventHub.Numbered]

    /// The subscriber's place in its hub, given up when the last copy goes away.
    final class Registration: Sendable {
        let hub: InboxEventHub
        let businessID: String
        let id: Int
        let start: UInt64
        let continuation: AsyncStream<Void>.Continuation

        init(hub: InboxEventHub, businessID: String, id: Int, start: UInt64, continuation: AsyncStream<Void>.Continuation) {
            self.hub = hub
            self.businessID = businessID
            self.id = id
            self.start = start
            self.continuation = continuation
        }

        func take(after cursor: UInt64) -> ArraySlice<InboxEventHub.Numbered> {
            hub.take(businessID, after: cursor, subscriber: id, continuation: continuation)
        }

        deinit {
            hub.unsubscribe(id, from: businessID)
            continuation.finish()
        }
    }

    let registration: Registration
    let wakeups: AsyncStream<Void>

    /// Makes a waiting `next()` return an empty element now (the next one, if none is
    /// waiting): the cue for a keep-alive.
    public func wake() { registration.continuation.yield() }

    /// Ends the iteration: `next()` returns nil from now on (a server shutting down).
    public func finish() { registration.continuation.finish() }

    public func makeAsyncIterator() -> Iterator {
        Iterator(registration: registration, cursor: registration.start, wakeups: wakeups.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        let registration: Registration
        var cursor: UInt64
        var wakeups: AsyncStream<Void>.Iterator

        /// The events since the last call, waiting for one if there are none; nil once the
        /// iterating task is cancelled.
        public mutating func next() async -> Element? {
            var events = registration.take(after: cursor)
            if events.isEmpty {
                guard await wakeups.next() != nil else { return nil }
                events = registration.take(after: cursor)
            }
            cursor = events.last?.number ?? cursor
            return Array(events)
        }
    }
}
