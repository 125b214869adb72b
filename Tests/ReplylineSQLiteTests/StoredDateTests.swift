import Foundation
import GRDB
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineSQLite

@Suite("Stored dates")
struct StoredDateTests {
    /// The webhook path binds `StoredDate.text` where GRDB would format the Date itself; both
    /// must store the same text, or `starts_at > ?` would compare differently.
    @Test("the same text as GRDB's own encoding, to the millisecond")
    func sameAsGRDB() {
        var generator = SystemRandomNumberGenerator()
        var dates = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
            Date(timeIntervalSince1970: 1_795_618_800.999_9), Date(timeIntervalSince1970: 1_795_618_800.0005),
            Date(timeIntervalSince1970: 4_102_444_799.999),  // 2099-12-31 23:59:59.999
            Date(timeIntervalSince1970: 253_402_300_799),  // 9999-12-31 23:59:59
        ]
        for _ in 0..<5_000 { dates.append(Date(timeIntervalSince1970: .random(in: 946_684_800...4_102_444_800, using: &generator))) }
        for _ in 0..<1_000 { dates.append(Date()) }
        for date in dates {
            #expect(StoredDate.text(date) == String.fromDatabaseValue(date.databaseValue), "\(date.timeIntervalSince1970)")
        }
    }

    /// Calendar, which GRDB reads through, can land one unit in the last place away from
    /// the arithmetic; what a reader of the date can see (the second and the millisecond)
    /// must be the same.
    @Test("read back to the moment GRDB's own decoding gives; other forms are left to GRDB")
    func readsAsGRDB() throws {
        var generator = SystemRandomNumberGenerator()
        var texts = ["2000-02-29 00:00:00.000", "2026-11-25 15:00:00.999", "1970-01-01 00:00:00.000", "9999-12-31 23:59:59.999"]
        for _ in 0..<5_000 {
            texts.append(StoredDate.text(Date(timeIntervalSince1970: .random(in: 946_684_800...4_102_444_800, using: &generator))))
        }
        for text in texts {
            let grdb = try #require(Date.fromDatabaseValue(text.databaseValue))
            let ours = try #require(StoredDate.date(text))
            #expect(abs(ours.timeIntervalSince(grdb)) < 1e-6, "\(text)")
            #expect(StoredDate.text(ours) == text && StoredDate.text(grdb) == text, "\(text)")
            #expect(CivilTime(ours) == CivilTime(grdb), "\(text)")
        }
        for other in ["2026-11-25 15:00:00", "2026-11-25T15:00:00.000", "2026-13-01 00:00:00.000", "2026-11-25 15:00:0x.000", ""] {
            #expect(StoredDate.date(other) == nil, "\(other)")
        }
    }
}
