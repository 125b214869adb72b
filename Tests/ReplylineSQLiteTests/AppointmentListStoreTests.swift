import Foundation
import GRDB
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineSQLite

@Suite("Appointment list store")
struct AppointmentListStoreTests {
    static let now = Date(timeIntervalSince1970: 1_795_618_800)

    /// With any filter, and deep in the pages, the list is one range of
    /// appointments_by_business read in order: no sort, no scan of the table.
    @Test(
        "The list reads appointments_by_business in order, with every filter and the cursor",
        arguments: [
            AppointmentFilter(), AppointmentFilter(states: [.confirmed]), AppointmentFilter(states: [.confirmed, .awaitingReply]),
            AppointmentFilter(from: now), AppointmentFilter(to: now),
            AppointmentFilter(states: [.cancelled], from: now, to: now.addingTimeInterval(86_400)),
        ])
    func usesTheIndex(filter: AppointmentFilter) throws {
        let temp = try TemporaryDatabase()
        try temp.database.writer.read { db in
            for cursor in [nil, AppointmentCursor(startsAt: Self.now, id: "apt_1")] {
                let (sql, arguments) = AppDatabase.appointmentList(businessID: "b", filter: filter, limit: 51, after: cursor)
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
                #expect(
                    plan.contains { $0.hasPrefix("SEARCH appointments USING INDEX appointments_by_business (business_id=?") }, "\(plan)")
                #expect(!plan.contains { $0.contains("TEMP B-TREE") || $0.hasPrefix("SCAN appointments") }, "\(plan)")
            }
        }
    }
}
