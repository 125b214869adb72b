import CPageCache
import Foundation
import GRDB
import Testing

@Suite("Page cache")
struct PageCacheTests {
    /// Random keys into an index split its pages all over the file, so SQLite reorders
    /// sibling pages through its temporary page number again and again; the wrapper stores
    /// that number differently, and every row must still be where SQLite expects it, in
    /// commits and in a rollback.
    @Test("Page swaps during b-tree splits keep every row, through commits and a rollback")
    func swapsKeepRows() throws {
        #expect(replyline_page_cache_installed() != 0, "the wrapper installs itself before SQLite's first use")
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed at the end of the test, not after its last use
        let pool = try DatabasePool(path: directory.path("cache.sqlite"))
        try pool.write { db in try db.execute(sql: "CREATE TABLE items (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID") }
        var generator = SystemRandomNumberGenerator()
        var stored: [String: Int] = [:]
        let swapsBefore = replyline_page_cache_swaps()
        for batch in 0..<40 {
            try pool.write { db in
                for index in 0..<250 {
                    let key = String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36) + "-\(batch)-\(index)"
                    try db.execute(sql: "INSERT INTO items (key, value) VALUES (?, ?)", arguments: [key, batch * 1000 + index])
                    stored[key] = batch * 1000 + index
                }
            }
        }
        #expect(replyline_page_cache_swaps() > swapsBefore, "10,000 random keys made no page swap, so nothing here was tested")

        let swapsBeforeRollback = replyline_page_cache_swaps()
        try pool.writeWithoutTransaction { db in
            try db.inTransaction {
                for index in 0..<2_000 {
                    try db.execute(
                        sql: "INSERT INTO items (key, value) VALUES (?, -1)",
                        arguments: ["rolled-back-\(UInt32.random(in: 0...UInt32.max))-\(index)"])
                }
                return .rollback
            }
        }
        #expect(replyline_page_cache_swaps() > swapsBeforeRollback)

        let check = try pool.read { db in
            (
                integrity: try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                count: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items"),
                rolledBack: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items WHERE value = -1"),
                values: try Dictionary(
                    uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT key, value FROM items").map { row in
                        (row[0] as String, row[1] as Int)
                    })
            )
        }
        #expect(check.integrity == "ok")
        #expect(check.count == stored.count)
        #expect(check.rolledBack == 0)
        #expect(check.values == stored)
    }
}
