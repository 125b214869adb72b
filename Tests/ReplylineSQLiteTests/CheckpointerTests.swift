import Foundation
import GRDB
import ReplylineStore
import Testing

@testable import ReplylineSQLite

@Suite("Checkpointer")
struct CheckpointerTests {
    /// `replyline migrate`, a backup or a test opens the file right after the server's
    /// database is released. Nothing of it may still hold the file then: the checkpointer's
    /// connection, closed late, folded the log back under an exclusive lock, and the next
    /// opener was refused with "database is locked".
    @Test("A released database has closed every connection: its log is folded back and removed")
    func releaseClosesTheFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("closed.sqlite")
        for round in 0..<10 {
            do {
                let database = try AppDatabase(path: path)
                try database.writer.write { db in
                    try db.execute(
                        sql: "INSERT INTO contacts (business_id, phone, created_at) VALUES ('b', ?, '2026-11-26')",
                        arguments: ["+1415555\(String(format: "%04d", round))"])
                }
            }
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "round \(round): the log is still there")
            // No busy timeout: any lock still held fails this at once.
            let next = try DatabaseQueue(path: path)
            #expect(try next.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contacts") } == round + 1)
            try next.close()
        }
    }

    /// After a load the log stayed at 138 MB on disk: SQLite keeps the file for reuse.
    @Test("Once traffic stops, the write-ahead log is truncated; before, it keeps its size")
    func idleLogIsTruncated() async throws {
        let directory = try TemporaryDirectory()
        func logSize(_ path: String) throws -> Int {
            try #require(FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
        }
        func load(_ database: AppDatabase) async throws {
            try await database.writer.write { db in
                for index in 0..<2_000 {
                    try db.execute(
                        sql: "INSERT INTO contacts (business_id, phone, created_at) VALUES ('b', ?, '2026-11-26')",
                        arguments: ["+1415\(String(format: "%07d", index))"])
                }
            }
        }
        // Never idle long enough: the checkpointer copies the log but leaves the file.
        let busy = try AppDatabase(path: directory.path("busy.sqlite"), idleLogTruncation: 3_600)
        try await load(busy)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try logSize(directory.path("busy.sqlite")) > 100_000)

        let path = directory.path("idle.sqlite")
        let database = try AppDatabase(path: path, idleLogTruncation: 0.05)
        try await load(database)
        var size = try logSize(path)
        for _ in 0..<500 where size > 0 {
            try await Task.sleep(for: .milliseconds(10))
            size = try logSize(path)
        }
        #expect(size == 0, "the log is still \(size) bytes after 5 s idle")
        #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contacts") } == 2_000)
    }
}
