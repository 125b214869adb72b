import Foundation
import GRDB
import Testing

@testable import ReplylineStore

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
}
