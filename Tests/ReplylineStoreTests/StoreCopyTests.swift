import Foundation
import GRDB
import PostgresNIO
import ReplylineCore
import ReplylineSQLite
import ReplylineStore
import Synchronization
import Testing

@testable import ReplylinePostgres

/// `StoreCopy` between real stores, filled through their own operations. On SQLite alone the
/// copies go SQLite to SQLite; with `REPLYLINE_TEST_STORE=postgres` through PostgreSQL too.
@Suite("Copying a store")
struct StoreCopyTests {
    /// A time with milliseconds, as SQLite keeps them.
    let now = Date(timeIntervalSince1970: 1_795_618_800.125)
    static let clinic = "+15017122661"
    static let ana = "+14155550100"
    static let bo = "+14155550111"

    static func sqlite() throws -> AppDatabase {
        try AppDatabase(
            path: FileManager.default.temporaryDirectory.appendingPathComponent("replyline-copy-\(UUID().uuidString).sqlite").path)
    }

    static func postgres() async throws -> PostgresStore {
        let url = try #require(ProcessInfo.processInfo.environment["REPLYLINE_TEST_POSTGRES_URL"])
        return try await PostgresStore(location: PostgresLocation(url: url), schema: TestStore.schema(), connections: 4)
    }

    /// A fresh store of the backend under test.
    static func make() async throws -> any ConversationStore & StoreCopying {
        try #require(try await TestStore.make() as? any ConversationStore & StoreCopying)
    }

    /// STOP opts out, START opts back in, anything else is conversation; each gets a reply.
    static func decide(_ body: String) -> @Sendable (ContactSnapshot) -> Decision {
        { contact in
            var decision = Decision(intent: .conversation)
            if body == "STOP", contact.consent == .optedIn { decision.consentChange = ConsentChange(to: .optedOut, source: .keyword) }
            if body == "START", contact.consent == .optedOut { decision.consentChange = ConsentChange(to: .optedIn, source: .keyword) }
            decision.replies = ["Re: \(body)"]
            decision.needsReply = body != "STOP" && body != "START"
            return decision
        }
    }

    /// A store with some of everything: inbound texts with media and parameters (and text
    /// that needs care on its way: tabs, newlines, backslashes, quotes, emoji), STOP and
    /// START in the ledger, appointments with reminders in the outbox, sends with their
    /// status history, a failed send, a staff message and a held callback.
    func fill(_ store: any ConversationStore, at now: Date) async throws {
        let bodies = ["Hello", "Line one\nline\ttwo \\ \"quoted\" it's ✓ 😀", "STOP", "START"]
        for (index, body) in bodies.enumerated() {
            let message = InboundMessage(
                provider: "twilio", providerMessageID: "SMin\(index)", accountID: "AC1", messagingServiceID: index == 0 ? "MG1" : nil,
                from: Self.ana, to: Self.clinic, body: body,
                media: index == 1
                    ? [.init(url: "https://x/m0", contentType: "image/jpeg"), .init(url: "https://x/m1?a=1&b=2", contentType: nil)] : [],
                providerOptOut: nil, parameters: [("MessageSid", "SMin\(index)"), ("Body", body), ("NumMedia", index == 1 ? "2" : "0")])
            _ = try await store.recordInbound(
                message, businessID: "clinic", now: now.addingTimeInterval(Double(index)), decide: Self.decide(body),
                render: { "<Response>\($0.replies.joined())</Response>" })
        }
        let salon = InboundMessage(
            provider: "twilio", providerMessageID: "SMsalon", accountID: "AC2", messagingServiceID: nil, from: Self.bo,
            to: "+13125550190", body: "Prices?", media: [], providerOptOut: nil, parameters: [("MessageSid", "SMsalon")])
        _ = try await store.recordInbound(salon, businessID: "salon", now: now, decide: Self.decide("Prices?"), render: nil)

        let compose: @Sendable (Appointment) -> AppointmentMessages = { appointment in
            AppointmentMessages(
                confirmationRequest: "Confirm \(appointment.service)?",
                reminders: [
                    (appointment.startsAt.addingTimeInterval(-86_400), "See you soon"),
                    (appointment.startsAt.addingTimeInterval(-3_600), "Soon"),
                ])
        }
        _ = try await store.createAppointment(
            NewAppointment(
                id: "apt_a1", phone: Self.ana, customerName: nil, service: "Cleaning", startsAt: now.addingTimeInterval(3 * 86_400),
                amountCents: nil),
            businessID: "clinic", provider: "twilio", fromNumber: Self.clinic, now: now, compose: compose)
        _ = try await store.createAppointment(
            NewAppointment(
                id: "apt_b2", phone: Self.bo, customerName: "Bo Ø", service: "Cut", startsAt: now.addingTimeInterval(5 * 86_400),
                amountCents: 4_500),
            businessID: "salon", provider: "twilio", fromNumber: "+13125550190", now: now, compose: compose)

        let due = try await store.dueOutbox(now: now.addingTimeInterval(10), limit: 10)
        try #require(due.count >= 2)
        #expect(try await store.claim(due[0].entry, owner: "copy-test", now: now))
        try await store.finishSend(due[0].entry, result: .sent(providerMessageID: "SMout1", status: .queued), now: now)
        #expect(try await store.claim(due[1].entry, owner: "copy-test", now: now))
        try await store.finishSend(due[1].entry, result: .failed(code: "30007", message: "Carrier filtered"), now: now)
        for (offset, status) in [DeliveryStatus.sent, .delivered].enumerated() {
            let callback = StatusCallback(
                provider: "twilio", providerMessageID: "SMout1", status: status, errorCode: nil, errorMessage: nil, messageID: nil)
            _ = try await store.recordStatusCallback(callback, now: now.addingTimeInterval(Double(60 + offset)))
        }
        let early = StatusCallback(
            provider: "twilio", providerMessageID: "SMnotyet", status: .undelivered, errorCode: "30003", errorMessage: "Unreachable",
            messageID: nil, accountID: "AC1", from: Self.clinic, businessID: "clinic", optsOut: false)
        #expect(try await store.recordStatusCallback(early, now: now) == .held)
        _ = try await store.queueManualMessage(
            businessID: "salon", phone: Self.bo, body: "We open at 10",
            media: [.init(url: "https://x/menu.pdf", contentType: "application/pdf")],
            provider: "twilio", fromNumber: "+13125550190", now: now)
        for (index, email) in ["desk@clinic.example", "owner@clinic.example", "front@salon.example"].enumerated() {
            try await store.addStaff(
                StaffAccount(
                    id: "staff-\(index)", businessID: email.hasSuffix("salon.example") ? "salon" : "clinic", email: email,
                    passwordHash: "$2b$04$notarealhashnotarealhashnotarealhashnotarealhash", createdAt: now))
        }
        let call = CallRecord(
            callID: "call_7", agent: "front_desk", phone: Self.ana, endedAt: now, variables: ["name": "Ana \"A\"\n✓", "n": "2"],
            receivedAt: now)
        let sms = [
            CallSMSRequest(
                key: "sms_confirmation", action: "sms_confirmation", kind: .postCall, messageClass: .transactional, body: "Booked",
                dueAt: now),
            CallSMSRequest(
                key: "body:abc", action: nil, kind: .inCall, messageClass: .marketing, body: "Offer", refusal: .noMarketingConsent,
                dueAt: now),
        ]
        let recorded = try await store.recordCall(
            call, sms: sms, businessID: "clinic", provider: "twilio", fromNumber: Self.clinic, now: now)
        #expect(recorded.queued.count == 1)
    }

    /// Every row of every table as SQLite holds it, storage classes included.
    static func dump(_ database: AppDatabase) async throws -> [String: [[String]]] {
        try await database.read { db in
            var tables: [String: [[String]]] = [:]
            for table in StoredTable.allCases {
                tables[table.rawValue] = try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY id").map { row in
                    row.databaseValues.map { "\($0.storage)" }
                }
            }
            return tables
        }
    }

    /// Every row of every table as the store reads them out for a copy.
    static func rows(_ store: any StoreCopying) async throws -> [StoredTable: [StoredRow]] {
        try await store.withSnapshot { reader in
            var tables: [StoredTable: [StoredRow]] = [:]
            for table in StoredTable.allCases { tables[table] = try await reader.rows(of: table, after: nil, limit: 10_000) }
            return tables
        }
    }

    @Test("SQLite to the store under test and back: the second file holds exactly the rows of the first")
    func roundTrip() async throws {
        let first = try Self.sqlite()
        try await fill(first, at: now)
        let original = try await Self.dump(first)
        for table in StoredTable.allCases { #expect(original[table.rawValue]?.isEmpty == false, "\(table) has no rows to copy") }

        // Batches of 2 so that every table takes several, appointments' text ids included.
        let middle = try await Self.make()
        let there = try await StoreCopy(from: first, to: middle, batchSize: 2).run()
        #expect(there.matches)
        #expect(there.copiedRows == original.values.reduce(0) { $0 + $1.count })
        let second = try Self.sqlite()
        let back = try await StoreCopy(from: middle, to: second, batchSize: 3).run()
        #expect(back.matches)
        #expect(back.tables.map(\.source) == there.tables.map(\.source))

        let copied = try await Self.dump(second)
        for table in StoredTable.allCases {
            #expect(copied[table.rawValue] == original[table.rawValue], "\(table)")
        }
        #expect(try await second.integrityCheck() == "ok")
    }

    @Test("Progress comes after each batch, table by table in foreign-key order")
    func progress() async throws {
        let source = try Self.sqlite()
        try await fill(source, at: now)
        let seen = Seen()
        _ = try await StoreCopy(from: source, to: try Self.sqlite(), batchSize: 2).run { table, copied, total in
            seen.append("\(table) \(copied)/\(total)")
        }
        let lines = seen.lines
        let messages = try #require(try await source.rowCounts()[.messages])
        #expect(Array(lines.prefix(2)) == ["contacts 2/2", "conversations 2/2"])
        #expect(lines.contains("messages 2/\(messages)"))
        #expect(lines.contains("messages \(messages)/\(messages)"))
        let order = lines.map { String($0.prefix { $0 != " " }) }.reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
        #expect(order == StoredTable.allCases.map(\.rawValue))
    }

    @Test("A target that holds rows is refused before anything is written, and --force meeting an id there writes nothing")
    func refusesNonEmptyTarget() async throws {
        let source = try Self.sqlite()
        try await fill(source, at: now)
        let target = try await Self.make()
        let message = InboundMessage(
            provider: "twilio", providerMessageID: "SMtarget", accountID: "AC1", messagingServiceID: nil, from: "+14155550199",
            to: Self.clinic, body: "Already here", media: [], providerOptOut: nil, parameters: [])
        _ = try await target.recordInbound(message, businessID: "clinic", now: now, decide: Self.decide("Hi"), render: { _ in "" })
        let before = try await target.rowCounts()

        await #expect {
            _ = try await StoreCopy(from: source, to: target).run()
        } throws: { error in
            guard case .targetNotEmpty(let tables) = error as? StoreCopyError else { return false }
            return tables.map(\.0) == [.contacts, .conversations, .messages] && tables.map(\.1) == [1, 1, 2]
        }
        #expect(try await target.rowCounts() == before)

        // Told to go ahead, the copy meets contact 1, already there: the whole copy rolls back.
        await #expect {
            _ = try await StoreCopy(from: source, to: target).run(intoNonEmpty: true)
        } throws: { error in
            guard case .writeFailed(let table, let first, _, _) = error as? StoreCopyError else { return false }
            return table == .contacts && first == .integer(1)
        }
        #expect(try await target.rowCounts() == before)
    }

    @Test("The reader sees one snapshot: rows written during a copy are not half in it")
    func snapshot() async throws {
        let store = try await Self.make()
        try await fill(store, at: now)
        let now = self.now
        let counts = try await store.withSnapshot { reader in
            let before = try await reader.count(of: .messages)
            let message = InboundMessage(
                provider: "twilio", providerMessageID: "SMduring", accountID: "AC1", messagingServiceID: nil, from: "+14155550177",
                to: Self.clinic, body: "Meanwhile", media: [], providerOptOut: nil, parameters: [])
            _ = try await store.recordInbound(message, businessID: "clinic", now: now, decide: Self.decide("Hi"), render: { _ in "" })
            let rows = try await reader.rows(of: .messages, after: nil, limit: 1_000)
            return (before, try await reader.count(of: .messages), rows.count, try await reader.count(of: .contacts))
        }
        #expect(counts.0 == counts.1)
        #expect(counts.0 == counts.2)
        #expect(try await store.rowCounts()[.messages] == counts.0 + 2)
        #expect(try await store.rowCounts()[.contacts] == counts.3 + 1)
    }

    @Test("Each table's columns are the ones the SQLite schema has")
    func sqliteColumns() async throws {
        let database = try Self.sqlite()
        let schema = try await database.read { db in
            try StoredTable.allCases.map { table in try Set(db.columns(in: table.rawValue).map(\.name)) }
        }
        #expect(schema == StoredTable.allCases.map { Set($0.columns.map(\.name)) })
    }

    @Test("Each table's columns are the ones the PostgreSQL schema has", .enabled(if: TestStore.backend == "postgres"))
    func postgresColumns() async throws {
        let store = try await Self.postgres()
        let schema = try await store.read { connection in
            var names: [Set<String>] = []
            for table in StoredTable.allCases {
                let rows = try await connection.rows(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table.rawValue)"
                )
                names.append(Set(try rows.map { try $0.get(0, as: String.self) }))
            }
            return names
        }
        #expect(schema == StoredTable.allCases.map { Set($0.columns.map(\.name)) })
    }

    @Test("After a copy into PostgreSQL, new rows take ids past the copied ones", .enabled(if: TestStore.backend == "postgres"))
    func sequencesContinue() async throws {
        let source = try Self.sqlite()
        try await fill(source, at: now)
        let target = try await Self.postgres()
        _ = try await StoreCopy(from: source, to: target).run()
        let copied = try await Self.rows(target)

        // A new contact texts STOP, gets an appointment and a staff message; a callback is
        // held; a call texts them.
        let phone = "+14155550222"
        let message = InboundMessage(
            provider: "twilio", providerMessageID: "SMnew", accountID: "AC1", messagingServiceID: nil, from: phone, to: Self.clinic,
            body: "STOP", media: [], providerOptOut: nil, parameters: [])
        _ = try await target.recordInbound(message, businessID: "clinic", now: now, decide: Self.decide("STOP"), render: nil)
        _ = try await target.recordInbound(
            InboundMessage(
                provider: "twilio", providerMessageID: "SMnew2", accountID: "AC1", messagingServiceID: nil, from: phone, to: Self.clinic,
                body: "START", media: [], providerOptOut: nil, parameters: []),
            businessID: "clinic", now: now, decide: Self.decide("START"), render: nil)
        _ = try await target.createAppointment(
            NewAppointment(
                id: "apt_new", phone: phone, customerName: nil, service: "Checkup", startsAt: now.addingTimeInterval(86_400 * 2),
                amountCents: nil),
            businessID: "clinic", provider: "twilio", fromNumber: Self.clinic, now: now,
            compose: { _ in
                AppointmentMessages(confirmationRequest: "Confirm?", reminders: [(now.addingTimeInterval(86_400), "Soon")])
            })
        let due = try await target.dueOutbox(now: now.addingTimeInterval(10), limit: 50)
        let entry = try #require(due.first { $0.message.toNumber == phone }?.entry)
        #expect(try await target.claim(entry, owner: "after-copy", now: now))
        try await target.finishSend(entry, result: .sent(providerMessageID: "SMnewout", status: .queued), now: now)
        _ = try await target.recordStatusCallback(
            StatusCallback(
                provider: "twilio", providerMessageID: "SMnewout", status: .delivered, errorCode: nil, errorMessage: nil, messageID: nil),
            now: now)
        let held = StatusCallback(
            provider: "twilio", providerMessageID: "SMnotyet2", status: .sent, errorCode: nil, errorMessage: nil, messageID: nil,
            accountID: "AC1", from: Self.clinic, businessID: "clinic")
        #expect(try await target.recordStatusCallback(held, now: now) == .held)
        _ = try await target.recordCall(
            CallRecord(callID: "call_new", agent: "front_desk", phone: phone, endedAt: now, variables: [:], receivedAt: now),
            sms: [CallSMSRequest(key: "body:k", action: nil, kind: .inCall, messageClass: .transactional, body: "Hi", dueAt: now)],
            businessID: "clinic", provider: "twilio", fromNumber: Self.clinic, now: now)

        let after = try await Self.rows(target)
        for table in StoredTable.allCases where table.hasGeneratedIDs {
            let largest = try #require(copied[table]?.compactMap(\.integerID).max())
            let added = after[table]!.dropFirst(copied[table]!.count)
            #expect(added.first?.integerID == largest + 1, "\(table): the first new row is not numbered after the copied ones")
        }
    }

    @Test("A date read from PostgreSQL is written back to the same microsecond")
    func timestampRounding() {
        // 2034-04-08 15:47:22.112712 as PostgreSQL holds it, and as PostgresNIO decodes it.
        let microseconds: Int64 = 1_081_525_642_112_712
        let date = Date(timeInterval: Double(microseconds) / 1_000_000, since: Date(timeIntervalSince1970: 946_684_800))
        // PostgresNIO's own encoding truncates this one to the microsecond before.
        #expect(Int64(date.timeIntervalSince(Date(timeIntervalSince1970: 946_684_800)) * 1_000_000) == microseconds - 1)
        #expect(PostgresTimestamp(date).microseconds == microseconds)
        // A SQLite date, to the millisecond, is that millisecond's first microsecond.
        #expect(PostgresTimestamp(Date(timeIntervalSince1970: 1_795_618_800.125)).microseconds == 848_934_000_125_000)
    }

    @Test("PostgreSQL to PostgreSQL keeps every date to the microsecond", .enabled(if: TestStore.backend == "postgres"))
    func microseconds() async throws {
        let source = try await Self.postgres()
        try await fill(source, at: Date(timeIntervalSince1970: 1_795_618_800.123_457))
        let target = try await Self.postgres()
        let report = try await StoreCopy(from: source, to: target, batchSize: 4).run()
        #expect(report.matches)
        let read = try await Self.rows(source)
        #expect(try await Self.rows(target) == read)
        // Not rounded to milliseconds on the way.
        let dates = read[.messages]!.flatMap(\.values).compactMap { if case .date(let date) = $0 { date } else { nil } }
        #expect(dates.contains { Int64(($0.timeIntervalSince1970 * 1_000_000).rounded()) % 1_000 != 0 })
    }
}

/// Lines collected from a progress callback.
final class Seen: Sendable {
    private let collected = Mutex<[String]>([])

    func append(_ line: String) { collected.withLock { $0.append(line) } }

    var lines: [String] { collected.withLock { $0 } }
}

extension StoredRow {
    /// The id of a row numbered by the store.
    var integerID: Int64? {
        if case .integer(let id) = id { id } else { nil }
    }
}
