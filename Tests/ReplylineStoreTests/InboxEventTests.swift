import Foundation
import ReplylineCore
import ReplylineStore
import Synchronization
import Testing

@testable import ReplylinePostgres

/// Collects the inbox events a store publishes for one business, in the background.
final class EventRecorder: Sendable {
    final class Events: Sendable {
        let list = Mutex<[InboxEvent]>([])
    }

    let events = Events()
    let task: Task<Void, Never>

    init(_ store: any ConversationStore, businessID: String) async {
        let subscription = await store.inboxEvents(businessID: businessID)
        task = Task { [events] in
            for await batch in subscription { events.list.withLock { $0 += batch.map(\.event) } }
        }
    }

    deinit { task.cancel() }

    var received: [InboxEvent] { events.list.withLock { $0 } }

    /// Waits (up to 10 s) until `count` events have arrived, and returns them.
    func first(_ count: Int) async throws -> [InboxEvent] {
        let deadline = ContinuousClock.now + .seconds(10)
        while received.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        return received
    }
}

@Suite("Inbox event hub")
struct InboxEventHubTests {
    static func event(_ phone: String, _ kind: InboxEvent.Kind = .message, business: String = "clinic") -> InboxEvent {
        InboxEvent(businessID: business, kind: kind, phone: phone)
    }

    @Test("An event reads back from its NOTIFY payload, a business id with `|` included; other text is no event")
    func payload() {
        let event = InboxEvent(businessID: "a|b", kind: .consent, phone: "+14155550100")
        #expect(event.payload == "a|b|consent|+14155550100")
        #expect(InboxEvent(payload: event.payload) == event)
        #expect(InboxEvent(payload: "clinic|deleted|+1") == nil)
        #expect(InboxEvent(payload: "nothing") == nil)
    }

    @Test("A subscriber gets its business's events from its subscription on, numbered in order, and no other business's")
    func perBusiness() async throws {
        let hub = InboxEventHub()
        hub.publish(Self.event("+10"))
        let subscription = hub.subscribe(businessID: "clinic")
        hub.publish([Self.event("+11"), Self.event("+12", business: "salon"), Self.event("+13", .read)])
        var iterator = subscription.makeAsyncIterator()
        let batch = try #require(await iterator.next())
        #expect(batch.map(\.event) == [Self.event("+11"), Self.event("+13", .read)])
        #expect(batch[0].number < batch[1].number)
    }

    @Test("A subscriber that falls behind gets only the newest events the hub keeps")
    func bounded() async throws {
        let hub = InboxEventHub(keep: 4)
        let subscription = hub.subscribe(businessID: "clinic")
        hub.publish((0..<100).map { Self.event("+\($0)") })
        var iterator = subscription.makeAsyncIterator()
        let batch = try #require(await iterator.next())
        #expect(batch.map(\.event.phone) == ["+96", "+97", "+98", "+99"])
    }

    @Test("wake() makes a waiting subscriber return an empty batch; finish() ends it; a dropped one is forgotten")
    func wakeAndFinish() async throws {
        let hub = InboxEventHub()
        let subscription = hub.subscribe(businessID: "clinic")
        #expect(hub.subscriberCount == 1)
        let waiting = Task {
            var iterator = subscription.makeAsyncIterator()
            var batches: [[InboxEventHub.Numbered]] = []
            while let batch = await iterator.next() { batches.append(batch) }
            return batches
        }
        subscription.wake()
        try await Task.sleep(for: .milliseconds(20))
        subscription.finish()
        let batches = await waiting.value
        #expect(batches.allSatisfy(\.isEmpty) && !batches.isEmpty)
        do { _ = hub.subscribe(businessID: "salon") }
        #expect(hub.subscriberCount == 1)
    }

    @Test("endSubscriptions() ends every subscription once it has had the events published before")
    func endAll() async throws {
        let hub = InboxEventHub()
        let subscriptions = [hub.subscribe(businessID: "clinic"), hub.subscribe(businessID: "salon")]
        hub.publish(Self.event("+11"))
        hub.endSubscriptions()
        for (subscription, expected) in zip(subscriptions, [[[Self.event("+11")]], []]) {
            var batches: [[InboxEvent]] = []
            for await batch in subscription { batches.append(batch.map(\.event)) }
            #expect(batches == expected)
        }
    }
}

extension PostgresInstancesTests {
    @Test("Two instances on one database see each other's changes, each once, through LISTEN/NOTIFY")
    func eventsAcrossInstances() async throws {
        let (first, second) = try await pair()
        let atFirst = await EventRecorder(first, businessID: "b")
        let atSecond = await EventRecorder(second, businessID: "b")
        let other = await EventRecorder(first, businessID: "other")
        let render: @Sendable (Decision) -> String = { $0.replies.joined() }
        _ = try await first.recordInbound(
            message("SMa", body: "hello"), businessID: "b", now: now, decide: Self.decide("hello"), render: render)
        _ = try await second.recordInbound(
            message("SMb", body: "STOP"), businessID: "b", now: now, decide: Self.decide("STOP"), render: render)
        _ = try await second.recordInbound(
            message("SMb", body: "STOP"), businessID: "b", now: now, decide: Self.decide("STOP"), render: render)
        #expect(try await second.markRead(businessID: "b", phone: "+14155550100"))
        let expected = [
            InboxEvent(businessID: "b", kind: .message, phone: "+14155550100"),
            InboxEvent(businessID: "b", kind: .message, phone: "+14155550100"),
            InboxEvent(businessID: "b", kind: .consent, phone: "+14155550100"),
            InboxEvent(businessID: "b", kind: .read, phone: "+14155550100"),
        ]
        #expect(try await atFirst.first(4) == expected)
        #expect(try await atSecond.first(4) == expected)
        #expect(other.received.isEmpty)
    }
}
