import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import ReplylineCore
import ReplylineStore
import ServiceLifecycle
import Synchronization
import Testing

@testable import ReplylineServer

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

/// Collects what a response body writes.
struct RecordingBodyWriter: ResponseBodyWriter {
    final class Written: Sendable {
        let text = Mutex("")
        let finished = Mutex(false)
    }

    let written: Written

    mutating func write(_ buffer: ByteBuffer) async throws { written.text.withLock { $0 += String(buffer: buffer) } }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws { written.finished.withLock { $0 = true } }
}

@Suite("Live events (GET /events)")
struct LiveEventsTests {
    static let ana = "+14155550100"

    static func sid(_ number: Int) -> String { "SM" + String(format: "%032x", number) }

    /// The clinic and a salon on one server, sending through a stand-in for Twilio that
    /// names each message `SMout<id>`.
    static func server() async throws -> TestServer {
        try await TestServer(
            configure: { configuration in
                configuration.twilioAccountSID = StatusCallbackOwnerTests.clinicAccount
                let salon = try RulesLoader.load(contentsOf: Repository.rules.appendingPathComponent("salon.yml"))
                configuration.businesses.append(
                    BusinessConfiguration(id: "salon", rules: salon, numbers: [TestServer.salonNumber], apiKey: "key-salon"))
            }, sender: TwilioStandIn())
    }

    @Test("Each change reaches its business's subscribers once, after it commits, and never another business's")
    func perBusiness() async throws {
        let server = try await Self.server()
        let clinic = await EventRecorder(server.database, businessID: "clinic")
        let salon = await EventRecorder(server.database, businessID: "salon")
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: Self.sid(1))
            try await client.text("Hello", sid: Self.sid(1))  // a retry: nothing changes, nothing is published
            let sent = try await client.json(.post, "/api/v1/conversations/%2B14155550100/messages", body: #"{"body": "On our way"}"#)
            #expect(sent.status == .created)
            #expect(try await server.replyline.outbox.runOnce() == 1)
            let id = try #require(sent.json["id"] as? Int)
            let delivered = try await StatusCallbackOwnerTests.callback(
                client, sid: "SMout\(id)", status: "delivered", account: StatusCallbackOwnerTests.clinicAccount, from: TestServer.business)
            #expect(delivered == .noContent)
            #expect(try await client.json(.post, "/api/v1/conversations/%2B14155550100/read").status == .ok)
            try await client.text("STOP", sid: Self.sid(2))
            try await client.text("Hi", sid: Self.sid(3), to: TestServer.salonNumber)
        }
        let kinds: [InboxEvent.Kind] = [.message, .message, .status, .status, .read, .message, .consent]
        let received = try await clinic.first(kinds.count)
        #expect(received.map(\.kind) == kinds)
        #expect(received.allSatisfy { $0 == InboxEvent(businessID: "clinic", kind: $0.kind, phone: Self.ana) })
        #expect(try await salon.first(1) == [InboxEvent(businessID: "salon", kind: .message, phone: Self.ana)])
    }

    @Test("An appointment booked or moved through the API is a change to its contact's thread")
    func appointments() async throws {
        let server = try await Self.server()
        let clinic = await EventRecorder(server.database, businessID: "clinic")
        try await server.app.test(.router) { client in
            let booked = try await client.json(.post, "/api/v1/appointments", body: OutboundTests.booking)
            let id = try #require(booked.json["id"] as? String)
            let moved = try await client.json(.patch, "/api/v1/appointments/\(id)", body: #"{"state": "cancelled"}"#)
            #expect(moved.status == .ok)
        }
        #expect(try await clinic.first(2) == Array(repeating: InboxEvent(businessID: "clinic", kind: .message, phone: Self.ana), count: 2))
    }

    @Test("The stream: text/event-stream, not stored, retry first, a frame per event, keep-alive comments when idle")
    func stream() async throws {
        let server = try await Self.server()
        let live = LiveEvents(store: server.database, keepAlive: .milliseconds(50), gathering: .zero)
        let response = await live.eventStream(businessID: "clinic")
        #expect(response.headers[.contentType] == "text/event-stream; charset=utf-8")
        #expect(response.headers[.cacheControl] == "no-store")
        let written = RecordingBodyWriter.Written()
        let streaming = Task {
            try await response.body.write(RecordingBodyWriter(written: written))
        }
        _ = try await server.database.markRead(businessID: "clinic", phone: Self.ana)  // no thread: no change
        _ = try await server.app.test(.router) { client in try await client.text("Hello", sid: Self.sid(1)) }
        let deadline = ContinuousClock.now + .seconds(10)
        while !written.text.withLock({ $0.contains(": keep-alive") && $0.contains("event: message") }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        streaming.cancel()
        try await streaming.value
        let text = written.text.withLock { $0 }
        #expect(text.hasPrefix("retry: 2000\n\n"))
        let frame = try #require(text.firstMatch(of: #/id: (\d+)\nevent: message\ndata: {"phone":"\+14155550100"}\n\n/#))
        #expect(Int(frame.output.1) != nil)
        #expect(text.contains(": keep-alive\n\n"))
        #expect(written.finished.withLock { $0 })
    }

    @Test("A phone is written as a JSON string that no character can break out of")
    func escaping() {
        #expect(LiveEvents.jsonString("+14155550100") == #""+14155550100""#)
        #expect(LiveEvents.jsonString("a\"b\\c\nd\u{1}\u{2028}") == #""a\"b\\c\nd\u0001\u2028""#)
        let frames = String(
            buffer: LiveEvents.frames([.init(number: 7, event: InboxEvent(businessID: "clinic", kind: .status, phone: "\n\ndata: x"))]))
        #expect(frames == "id: 7\nevent: status\ndata: {\"phone\":\"\\n\\ndata: x\"}\n\n")
    }

    @Test("Open streams end when the server shuts down gracefully, so a SIGTERM is not held up", .timeLimit(.minutes(1)))
    func shutdown() async throws {
        let server = try await Self.server()
        let live = LiveEvents(store: server.database)
        let router = Router()
        router.get("events") { _, _ in await live.eventStream(businessID: "clinic") }
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: TestServer.quietLogger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: TestServer.quietLogger))
        async let serving: Void = group.run()
        while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
        let number = port.withLock { $0 }!
        let received = StreamReader.Received()
        async let streams = withThrowingTaskGroup(of: String.self) { tasks in
            for _ in 0..<3 { tasks.addTask { try await StreamReader.read("/events", port: number, into: received) } }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        while received.text.withLock({ $0.components(separatedBy: "retry: 2000").count }) < 4 {
            try await Task.sleep(for: .milliseconds(10))
        }
        _ = try await server.database.queueManualMessage(
            businessID: "clinic", phone: Self.ana, body: "Running late?", media: [], provider: "twilio", fromNumber: TestServer.business,
            now: server.clock.now)
        while received.text.withLock({ $0.components(separatedBy: "event: message").count }) < 4 {
            try await Task.sleep(for: .milliseconds(10))
        }
        // What SIGTERM does, with the three streams open: each ends, whole, and the server stops.
        await group.triggerGracefulShutdown()
        for text in try await streams {
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(text.contains("event: message\ndata: {\"phone\":\"+14155550100\"}"))
            #expect(text.hasSuffix("0\r\n\r\n"))  // the chunked body's end: finished, not cut off
        }
        try await serving
    }
}

/// A bare HTTP/1.1 client on one connection: sends a GET and returns everything the server
/// sends until it closes the connection.
enum StreamReader {
    final class Received: Sendable {
        let text = Mutex("")
    }

    static func read(_ path: String, port: Int, into received: Received) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) {
            channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n"))
            var text = ""
            for try await chunk in inbound {
                text += String(buffer: chunk)
                received.text.withLock { $0 += String(buffer: chunk) }
            }
            return text
        }
    }
}
