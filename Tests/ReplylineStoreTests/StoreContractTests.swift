import Foundation
import ReplylineCore
import ReplylinePostgres
import ReplylineSQLite
import ReplylineStore
import Testing

/// A fresh store for one test: a SQLite file, or with `REPLYLINE_TEST_STORE=postgres` a
/// schema of its own on the server `REPLYLINE_TEST_POSTGRES_URL` names (`scripts/postgres
/// run -- swift test`). The same tests run on both.
enum TestStore {
    static var backend: String { ProcessInfo.processInfo.environment["REPLYLINE_TEST_STORE"] ?? "sqlite" }

    static func make() async throws -> any ConversationStore {
        switch backend {
        case "sqlite":
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("replyline-store-\(UUID().uuidString).sqlite").path
            return try AppDatabase(path: path)
        case "postgres":
            guard let url = ProcessInfo.processInfo.environment["REPLYLINE_TEST_POSTGRES_URL"] else {
                throw StoredValueError("REPLYLINE_TEST_STORE=postgres needs REPLYLINE_TEST_POSTGRES_URL; run under scripts/postgres run --")
            }
            return try await PostgresStore(
                location: PostgresLocation(url: url), schema: schema(), connections: 8, connectionWait: .seconds(60))
        default:
            throw StoredValueError("REPLYLINE_TEST_STORE=\(backend): expected sqlite or postgres")
        }
    }

    static func schema() -> String { "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
}

/// What every store promises (`ConversationStore`), on the backend under test.
@Suite("Store contract")
struct StoreContractTests {
    let now = Date(timeIntervalSince1970: 1_795_618_800)

    func message(_ sid: String, body: String = "Hello", from: String = "+14155550100") -> InboundMessage {
        InboundMessage(
            provider: "twilio", providerMessageID: sid, accountID: "AC1", messagingServiceID: nil, from: from, to: "+15017122661",
            body: body, media: [.init(url: "https://x/m0", contentType: "image/jpeg")], providerOptOut: nil,
            parameters: [("MessageSid", sid), ("Body", body), ("Extra", "kept")])
    }

    /// A stand-in decision function: replies with the body upper-cased, opts out on STOP.
    static func decide(_ text: String) -> @Sendable (ContactSnapshot) -> Decision {
        { contact in
            var decision = Decision(intent: text == "STOP" ? .optOut : .conversation)
            if text == "STOP", contact.consent == .optedIn { decision.consentChange = ConsentChange(to: .optedOut, source: .keyword) }
            decision.replies = [text.uppercased()]
            decision.needsReply = text != "STOP"
            return decision
        }
    }

    static let render: @Sendable (Decision) -> String = { "<reply>\($0.replies.joined(separator: "|"))</reply>" }

    @Test("A message, its decision and its reply commit together, every parameter kept")
    func records() async throws {
        let database = try await TestStore.make()
        let outcome = try await database.recordInbound(
            message("SM1"), businessID: "b", now: now, decide: Self.decide("Hello"), render: Self.render)
        #expect(!outcome.isDuplicate)
        #expect(outcome.reply == "<reply>HELLO</reply>")
        let thread = try #require(try await database.thread(businessID: "b", phone: "+14155550100"))
        #expect(thread.messages.map(\.direction) == [.inbound, .outbound])
        #expect(thread.messages[0].parameters == #"[["MessageSid","SM1"],["Body","Hello"],["Extra","kept"]]"#)
        #expect(thread.messages[0].media == [.init(url: "https://x/m0", contentType: "image/jpeg")])
        #expect(thread.messages[0].encoding == .gsm7)
        #expect(thread.messages[1].inReplyTo == thread.messages[0].id)
        #expect(thread.conversation.unreadCount == 1)
        #expect(thread.conversation.needsReply)
    }

    @Test("A retried message id returns the stored reply byte for byte and changes nothing")
    func retry() async throws {
        let database = try await TestStore.make()
        let first = try await database.recordInbound(
            message("SM1", body: "STOP"), businessID: "b", now: now, decide: Self.decide("STOP"), render: Self.render)
        let before = try await database.tableCounts()
        let again = try await database.recordInbound(
            message("SM1", body: "STOP"), businessID: "b", now: now.addingTimeInterval(5), decide: Self.decide("other"), render: Self.render
        )
        #expect(again.isDuplicate)
        #expect(again.reply == first.reply)
        #expect(try await database.tableCounts() == before)
        #expect(try await database.consentEvents(businessID: "b", phone: "+14155550100").count == 1)
    }

    @Test("Concurrent deliveries of one id produce one row and one reply")
    func concurrentDuplicates() async throws {
        let database = try await TestStore.make()
        let now = self.now
        let outcomes = try await withThrowingTaskGroup(of: InboundOutcome.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await database.recordInbound(
                        self.message("SMdup"), businessID: "b", now: now, decide: Self.decide("Hello"), render: Self.render)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { !$0.isDuplicate }.count == 1)
        #expect(Set(outcomes.map(\.reply)) == ["<reply>HELLO</reply>"])
        #expect(try await database.tableCounts()["messages"] == 2)
    }

    @Test("A claimed send whose contact opts out before its attempt begins does not begin; a claim no longer held is lost")
    func attemptChecksConsent() async throws {
        let database = try await TestStore.make()
        let queued = try await database.queueManualMessage(
            businessID: "b", phone: "+14155550100", body: "Hi", media: [], provider: "twilio", fromNumber: "+15017122661", now: now)
        let entry = try #require(try await database.outboxEntry(messageID: queued.id!))
        let decided = try await database.claimDue(owner: "one", now: now, limit: 10) { _ in .send }
        #expect(decided.map(\.decision) == [.send])
        #expect(try await database.beginSend(entry, owner: "two", now: now) == .lost)
        _ = try await database.recordInbound(
            message("SMstop", body: "STOP"), businessID: "b", now: now, decide: Self.decide("STOP"), render: Self.render)
        #expect(try await database.beginSend(entry, owner: "one", now: now) == .optedOut)
        #expect(try await database.outboxEntry(messageID: queued.id!)?.attempts == 0)
    }

    @Test("Many concurrent messages share commits and every one is stored once")
    func groupCommit() async throws {
        let database = try await TestStore.make()
        let now = self.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<400 {
                group.addTask {
                    _ = try await database.recordInbound(
                        self.message("SM\(index)", from: "+1415555\(String(format: "%04d", index % 40))"), businessID: "b", now: now,
                        decide: Self.decide("Hi"), render: Self.render)
                }
            }
            try await group.waitForAll()
        }
        let counts = try await database.tableCounts()
        #expect(counts["messages"] == 800)
        #expect(counts["contacts"] == 40)
        #expect(counts["conversations"] == 40)
        #expect(try await database.integrityCheck() == "ok")
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
