import Foundation
import GRDB
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineSQLite

/// A fresh folder under the temporary directory, removed when the value goes away (as in
/// the server tests, a module of their own).
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("replyline-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A fresh SQLite file per test, removed afterwards.
final class TemporaryDatabase {
    let directory: TemporaryDirectory
    let database: AppDatabase

    init() throws {
        directory = try TemporaryDirectory()
        database = try AppDatabase(path: directory.path("test.sqlite"))
    }
}

@Suite("Inbound store")
struct InboundStoreTests {
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

    @Test("A job that fails rolls back alone; its neighbours in the batch commit")
    func isolation() async throws {
        let temp = try TemporaryDatabase()
        let database = temp.database
        let now = self.now
        // A decision naming an appointment that does not exist breaks a foreign key.
        let broken: @Sendable (ContactSnapshot) -> Decision = { _ in
            var decision = Decision(intent: .confirm)
            decision.appointmentChange = AppointmentChange(appointmentID: "missing", from: .awaitingReply, to: .confirmed)
            return decision
        }
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<20 {
                group.addTask {
                    do {
                        _ = try await database.recordInbound(
                            self.message("SM\(index)", from: "+1415555\(String(format: "%04d", index))"), businessID: "b", now: now,
                            decide: index % 5 == 0 ? broken : Self.decide("Hi"), render: Self.render)
                        return (index, true)
                    } catch {
                        return (index, false)
                    }
                }
            }
            return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.filter { !$0.value }.keys.sorted() == [0, 5, 10, 15])
        let counts = try await database.tableCounts()
        #expect(counts["messages"] == 32)
        #expect(counts["contacts"] == 16)
        #expect(try await database.thread(businessID: "b", phone: "+14155550005") == nil)
    }

    @Test("In one batch, a job that throws after writing leaves no trace and its neighbours commit once each")
    func isolationInOneBatch() async throws {
        struct Refused: Error {}
        let temp = try TemporaryDatabase()
        let committer = temp.database.committer
        try await temp.database.writer.write { db in try db.execute(sql: "CREATE TABLE scratch (job INTEGER NOT NULL)") }
        // The first job holds the writer until the other twelve wait in the queue, so they
        // form one batch: the batch runs straight through, meets job 1's error, and runs
        // again with a savepoint per job.
        let held = DispatchSemaphore(value: 0)
        let (entered, writerHeld) = AsyncStream.makeStream(of: Void.self)
        let holding = Task {
            try await committer.submit { _ in
                writerHeld.yield()
                held.wait()
            }
        }
        for await _ in entered { break }
        let results = try await withThrowingTaskGroup(of: (Int, Int?).self) { group in
            for job in 0..<12 {
                group.addTask {
                    do {
                        let value = try await committer.submit { db -> Int in
                            try db.execute(sql: "INSERT INTO scratch (job) VALUES (?)", arguments: [job])
                            if job % 4 == 1 { throw Refused() }
                            return job * 10
                        }
                        return (job, value)
                    } catch is Refused {
                        return (job, nil)
                    }
                }
            }
            while committer.queue.withLock({ $0.jobs.count }) < 12 { try await Task.sleep(for: .milliseconds(1)) }
            held.signal()
            return try await group.reduce(into: [Int: Int?]()) { $0[$1.0] = $1.1 }
        }
        try await holding.value
        #expect(results.filter { $0.value == nil }.keys.sorted() == [1, 5, 9])
        #expect(results.allSatisfy { $0.value == nil || $0.value == $0.key * 10 })
        let stored = try await temp.database.read { db in try Int.fetchAll(db, sql: "SELECT job FROM scratch ORDER BY job") }
        #expect(stored == [0, 2, 3, 4, 6, 7, 8, 10, 11])
    }

    @Test("The consent ledger refuses updates and deletes")
    func appendOnly() async throws {
        let temp = try TemporaryDatabase()
        _ = try await temp.database.recordInbound(
            message("SM1", body: "STOP"), businessID: "b", now: now, decide: Self.decide("STOP"), render: Self.render)
        await #expect(throws: DatabaseError.self) {
            try await temp.database.writer.write { db in try db.execute(sql: "UPDATE consent_events SET to_state = 'opted_in'") }
        }
        await #expect(throws: DatabaseError.self) {
            try await temp.database.writer.write { db in try db.execute(sql: "DELETE FROM consent_events") }
        }
    }
}

@Suite("Stored JSON")
struct StoredJSONTests {
    @Test("Parameters and media survive a JSON round trip, whatever they contain")
    func roundTrip() async throws {
        let tricky = ["plain", "quote \" and \\ backslash", "line\nbreak\ttab\r", "nul \u{0} bell \u{7} esc \u{1B}", "émoji 😊 中文", ""]
        let parameters = tricky.enumerated().map { (name: "P\($0.offset)\($0.element.prefix(1))", value: $0.element) }
        let json = StoredMessage.encodeParameters(parameters)
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String]])
        #expect(decoded.map { $0[0] } == parameters.map(\.name))
        #expect(decoded.map { $0[1] } == parameters.map(\.value))
        let media = [InboundMessage.Media(url: "https://x/\"a\"", contentType: "image/jpeg"), .init(url: "https://x/b", contentType: nil)]
        #expect(StoredMessage.decodeMedia(StoredMessage.encodeMedia(media)) == media)
        #expect(StoredMessage.encodeParameters([]) == "[]")
        // A record written through GRDB (`encode(to:)`) stores the same JSON and reads back.
        let temp = try TemporaryDatabase()
        let queued = try await temp.database.queueOutbound(
            businessID: "b", phone: "+14155550100", kind: .manual, body: "", media: media, appointmentID: nil, provider: "twilio",
            fromNumber: "+14155550000", now: Date(timeIntervalSince1970: 1_795_618_800))
        let stored = try await temp.database.read { db in
            try String.fetchOne(db, sql: "SELECT media FROM messages WHERE id = ?", arguments: [queued.id])
        }
        #expect(stored.map(StoredMessage.decodeMedia) == media)
        #expect(try await temp.database.thread(businessID: "b", phone: "+14155550100")?.messages.map(\.media) == [media])
    }
}
