import CWALBuffer
import Foundation
import GRDB
import ReplylineCore
import Testing

@testable import ReplylineStore

@Suite("Gathered log writes")
struct WALBufferTests {
    @Test("The writer syncs every commit (synchronous = FULL), whatever the pool sets")
    func fullSync() async throws {
        let temp = try TemporaryDatabase()
        let level = try await temp.database.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(level == 2)
    }

    /// Another process opens the database with SQLite's own VFS while this one holds it
    /// open: every acknowledged message must already be in the files it reads.
    @Test("Each commit's log writes reach the file as one, and another process sees every acknowledged message")
    func gatheredAndVisible() async throws {
        let temp = try TemporaryDatabase()
        var before = (requested: Int64(0), written: Int64(0))
        replyline_wal_buffer_counts(&before.requested, &before.written)
        let tests = InboundStoreTests()
        let database = temp.database
        let now = tests.now
        let messages = (0..<400).map { index in
            tests.message("SMwal\(index)", body: "Question \(index)", from: "+1415555\(String(format: "%04d", index))")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in messages {
                group.addTask {
                    _ = try await database.recordInbound(
                        message, businessID: "b", now: now, decide: InboundStoreTests.decide("Question"), render: InboundStoreTests.render)
                }
            }
            try await group.waitForAll()
        }
        var after = (requested: Int64(0), written: Int64(0))
        replyline_wal_buffer_counts(&after.requested, &after.written)
        let requested = after.requested - before.requested
        let written = after.written - before.written
        // Two writes per frame, several frames per message: without gathering these are equal.
        #expect(requested > 100)
        #expect(written * 5 < requested, "\(written) file writes for \(requested) requested")

        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = [
            "python3", "-c",
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            print(db.execute("PRAGMA integrity_check").fetchone()[0],
                  db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'inbound' AND provider_message_id LIKE 'SMwal%'").fetchone()[0])
            """,
            temp.directory.path("test.sqlite"),
        ]
        let output = Pipe()
        python.standardOutput = output
        python.standardError = output
        try python.run()
        python.waitUntilExit()
        let seen = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(seen.trimmingCharacters(in: .whitespacesAndNewlines) == "ok 400")
    }
}
