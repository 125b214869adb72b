import Foundation
import GRDB
import Testing

@testable import ReplylineStore

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
}
