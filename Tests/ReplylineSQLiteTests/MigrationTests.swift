import Foundation
import GRDB
import ReplylineStore
import Testing

@testable import ReplylineSQLite

@Suite("Migrations")
struct MigrationTests {
    /// A release before v4 left pending reminders: they come through with no recorded
    /// start time (and are judged by their appointment's state alone), and the outbox
    /// takes the new `skipped` state, nothing else new.
    @Test("v4 keeps every outbox row, adds the start time a message names, and allows skipped")
    func skippedOutboxEntries() throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }
        let path = try Self.olderDatabase(in: directory, upTo: "v3: fewer index entries per webhook") { db in
            try db.execute(
                sql: """
                    INSERT INTO contacts (id, business_id, phone, created_at) VALUES (1, 'b', '+14155550100', '2026-11-01');
                    INSERT INTO conversations (id, business_id, contact_id, last_message_at) VALUES (1, 'b', 1, '2026-11-01');
                    INSERT INTO messages (id, conversation_id, direction, kind, provider, from_number, to_number, body, segments, encoding, status, created_at)
                        VALUES (7, 1, 'outbound', 'reminder', 'twilio', '+15017122661', '+14155550100', 'Reminder', 1, 'GSM-7', 'scheduled', '2026-11-01');
                    INSERT INTO outbox (id, message_id, business_id, due_at, attempts, last_error, state) VALUES (3, 7, 'b', '2026-12-01', 0, NULL, 'pending');
                    """)
        }
        _ = try AppDatabase(path: path)
        let migrated = try DatabaseQueue(path: path)
        try migrated.write { db in
            #expect(
                try Row.fetchOne(db, sql: "SELECT id, message_id, due_at, state, appointment_starts_at FROM outbox")
                    == ["id": 3, "message_id": 7, "due_at": "2026-12-01", "state": "pending", "appointment_starts_at": nil])
            try db.execute(sql: "UPDATE outbox SET state = 'skipped'")
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE outbox SET state = 'lost'") }
            #expect(
                try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' AND name NOT LIKE 'sqlite_%'")
                    == ["outbox_due"])
        }
        try migrated.close()
    }

    /// A database written by a release with only the first migration: every row, index,
    /// trigger and rule must come through the rebuild of its tables.
    @Test("v2 rebuilds appointments, the consent ledger and the outbox with every row, index, trigger and rule")
    func checksAsComparisons() throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }  // removed at the end of the test, not after its last use
        let path = try Self.olderDatabase(in: directory, upTo: "v1: threads, appointments, consent ledger, outbox") { db in
            try db.execute(
                sql: """
                    INSERT INTO contacts (id, business_id, phone, consent, created_at) VALUES (1, 'b', '+14155550100', 'opted_out', '2026-11-01');
                    INSERT INTO conversations (id, business_id, contact_id, last_message_at) VALUES (1, 'b', 1, '2026-11-01');
                    INSERT INTO appointments (id, business_id, contact_id, customer_name, service, starts_at, amount_cents, state, created_at, updated_at)
                        VALUES ('apt_1', 'b', 1, 'Ana', 'Cleaning', '2026-12-01 09:00:00.000', 12000, 'confirmed', '2026-11-01', '2026-11-02');
                    INSERT INTO messages (id, conversation_id, direction, kind, provider, from_number, to_number, body, segments, encoding, status, appointment_id, created_at)
                        VALUES (7, 1, 'outbound', 'confirmation_request', 'twilio', '+15017122661', '+14155550100', 'Reply C', 1, 'GSM-7', 'queued', 'apt_1', '2026-11-01');
                    INSERT INTO outbox (id, message_id, business_id, due_at, attempts, last_error, state) VALUES (3, 7, 'b', '2026-11-01', 2, 'timeout', 'failed');
                    INSERT INTO consent_events (id, business_id, contact_id, phone, from_state, to_state, source, message_id, created_at)
                        VALUES (5, 'b', 1, '+14155550100', 'opted_in', 'opted_out', 'keyword', 'SM1', '2026-11-03');
                    """)
        }

        _ = try AppDatabase(path: path)
        let migrated = try DatabaseQueue(path: path)
        try migrated.write { db in
            #expect(
                try Row.fetchOne(db, sql: "SELECT id, contact_id, customer_name, amount_cents, state, updated_at FROM appointments")
                    == [
                        "id": "apt_1", "contact_id": 1, "customer_name": "Ana", "amount_cents": 12000, "state": "confirmed",
                        "updated_at": "2026-11-02",
                    ])
            #expect(
                try Row.fetchOne(db, sql: "SELECT id, message_id, attempts, last_error, state FROM outbox")
                    == ["id": 3, "message_id": 7, "attempts": 2, "last_error": "timeout", "state": "failed"])
            #expect(
                try Row.fetchOne(db, sql: "SELECT id, source, to_state FROM consent_events")
                    == ["id": 5, "source": "keyword", "to_state": "opted_out"])
            let indexes = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            #expect(Set(["appointments_by_contact", "consent_events_by_contact", "outbox_due"]).isSubset(of: Set(indexes)))
            #expect(try db.foreignKeyViolations().next() == nil)

            // The ledger is still append-only, and the rules still refuse what they refused.
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE consent_events SET to_state = 'opted_in'") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "DELETE FROM consent_events") }
            let refused = [
                "UPDATE appointments SET state = 'maybe'": "appointment_state",
                "UPDATE outbox SET state = 'lost'": "outbox_state",
                "INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, created_at) VALUES ('b', 1, 'p', 'a', 'b', 'rumour', 'x')":
                    "consent_source",
            ]
            for (statement, constraint) in refused {
                let error = #expect(throws: DatabaseError.self) { try db.execute(sql: statement) }
                #expect(error?.message?.contains(constraint) == true, "\(statement): \(error?.message ?? "no error")")
            }
            try db.execute(sql: "UPDATE appointments SET state = 'no_show'")
            try db.execute(sql: "UPDATE outbox SET state = 'unknown'")
        }
    }

    /// The statements a webhook runs for C, R, STOP and START check their rows without
    /// building a temporary b-tree for the allowed values (what `IN (...)` costs).
    @Test("Appointment, ledger and outbox writes check their rules with comparisons")
    func noTemporaryTables() throws {
        let temp = try TemporaryDatabase()
        let statements = [
            "UPDATE appointments SET state = 'confirmed', updated_at = 'x' WHERE id = 'a' AND state = 'awaiting_reply'",
            "INSERT INTO consent_events (business_id, contact_id, phone, from_state, to_state, source, message_id, created_at) VALUES ('b', 1, 'p', 'opted_in', 'opted_out', 'keyword', 'm', 'x')",
            "UPDATE outbox SET state = 'sent' WHERE id = 1",
        ]
        try temp.database.writer.read { db in
            for statement in statements {
                let opcodes = try Row.fetchAll(db, sql: "EXPLAIN " + statement).map { $0["opcode"] as String }
                #expect(!opcodes.isEmpty)
                #expect(!opcodes.contains("OpenEphemeral"), "\(statement)")
            }
        }
    }
    /// A reply goes into one index keyed by conversation, not two: the thread index also
    /// holds each message's send time, for the per-conversation and monthly send counts;
    /// and messages_by_appointment holds only what can be queued, not a C and its reply.
    @Test("v3 folds messages_sent into the thread index and keeps replies out of messages_by_appointment; queries still find their rows")
    func threadIndexHoldsSendTimes() throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }
        let path = try Self.olderDatabase(in: directory, upTo: "v2: CHECK constraints as comparisons, not IN lists") { db in
            try db.execute(
                sql: """
                    INSERT INTO contacts (id, business_id, phone, created_at) VALUES (1, 'b', '+14155550100', '2026-11-01');
                    INSERT INTO conversations (id, business_id, contact_id, last_message_at) VALUES (1, 'b', 1, '2026-11-01');
                    """)
            // Sent reminders at 09:00, 09:30 and 10:00, a reply at 10:05, one not sent, an inbound text.
            for (kind, sentAt) in [
                ("reminder", "2026-11-20 09:00:00.000"), ("reminder", "2026-11-20 09:30:00.000"),
                ("reminder", "2026-11-20 10:00:00.000"), ("reply", "2026-11-20 10:05:00.000"), ("reminder", nil),
            ] {
                try db.execute(
                    sql: """
                        INSERT INTO messages (conversation_id, direction, kind, provider, from_number, to_number, body, segments,
                            encoding, status, created_at, sent_at)
                        VALUES (1, 'outbound', ?, 'twilio', '+15017122661', '+14155550100', 'x', 1, 'GSM-7', 'sent', '2026-11-20', ?)
                        """, arguments: [kind, sentAt])
            }
            try db.execute(
                sql: """
                    INSERT INTO messages (conversation_id, direction, kind, provider, provider_message_id, from_number, to_number, body,
                        segments, encoding, status, created_at)
                    VALUES (1, 'inbound', 'inbound', 'twilio', 'SM1', '+14155550100', '+15017122661', 'C', 1, 'GSM-7', 'received', '2026-11-20')
                    """)
        }

        let database = try AppDatabase(path: path)
        try database.writer.read { db in
            let indexes = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'messages' AND type = 'index'")
            #expect(!indexes.contains { $0["name"] == "messages_sent" })
            #expect(
                indexes.first { $0["name"] == "messages_by_thread" }?["sql"] as String?
                    == "CREATE INDEX messages_by_thread ON messages (conversation_id, id, sent_at)")
            #expect(
                (indexes.first { $0["name"] == "messages_by_appointment" }?["sql"] as String?)?.hasSuffix(
                    "WHERE appointment_id IS NOT NULL AND direction = 'outbound' AND kind <> 'reply'") == true)
            // Cancelling an appointment's pending messages finds them through the partial index.
            for statement in AppDatabase.cancelPendingMessages.split(separator: ";").map(String.init)
            where !statement.allSatisfy(\.isWhitespace) {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement, arguments: ["apt_1"]).map { $0["detail"] as String }
                #expect(plan.contains { $0.contains("USING INDEX messages_by_appointment") }, "\(plan)")
            }

            func date(_ text: String) throws -> Date { try #require(StoredDate.date(text)) }
            let since = try date("2026-11-20 09:15:00.000")
            #expect(
                try Date.fetchAll(db, sql: AppDatabase.recentAutomatedSends, arguments: [1, since]).map(StoredDate.text) == [
                    "2026-11-20 09:30:00.000", "2026-11-20 10:00:00.000",
                ])
            let (start, end) = (try date("2026-11-20 09:10:00.000"), try date("2026-11-20 10:10:00.000"))
            #expect(try Int.fetchOne(db, sql: AppDatabase.sentInPeriod, arguments: ["b", start, end]) == 3)

            // Both read the thread index, never the whole table.
            let statements: [(String, StatementArguments)] = [
                (AppDatabase.recentAutomatedSends, [1, since]), (AppDatabase.sentInPeriod, ["b", start, end]),
            ]
            for (sql, arguments) in statements {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
                #expect(plan.contains { $0.hasPrefix("SEARCH messages USING INDEX messages_by_thread (conversation_id=?)") }, "\(plan)")
                #expect(!plan.contains { $0.hasPrefix("SCAN messages") }, "\(plan)")
            }
        }
    }

    /// A held callback now keeps what ties it to a business; one held by an older release
    /// keeps its row, with those columns empty, and still applies as it did.
    @Test("v5 gives held status callbacks an account, a number and a business; rows held before keep theirs empty")
    func heldCallbackOwners() async throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }
        let path = try Self.olderDatabase(in: directory, upTo: "v3: fewer index entries per webhook") { db in
            try db.execute(sql: Self.sentMessage)
            try db.execute(
                sql: """
                    INSERT INTO held_status_callbacks (id, provider, provider_message_id, status, received_at)
                        VALUES (4, 'twilio', 'SMold', 'delivered', '2026-11-01 10:00:00.000');
                    """)
        }
        let database = try AppDatabase(path: path)
        try await database.write { db in
            let columns = try db.columns(in: "held_status_callbacks").map(\.name)
            #expect(Array(columns.suffix(4).prefix(3)) == ["account_sid", "from_number", "business_id"])
            #expect(
                try Row.fetchOne(db, sql: "SELECT id, status, account_sid, from_number, business_id FROM held_status_callbacks")
                    == ["id": 4, "status": "delivered", "account_sid": nil, "from_number": nil, "business_id": nil])
            try AppDatabase.applyHeldCallbacks(db, provider: "twilio", sid: "SMold")
            #expect(try String.fetchOne(db, sql: "SELECT status FROM messages WHERE id = 7") == "delivered")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM held_status_callbacks") == 0)
        }
    }

    @Test("v8 marks held Twilio 21610 callbacks as opting out, and only those; applied, they record the opt-out")
    func heldCallbackOptOuts() async throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }
        let path = try Self.olderDatabase(in: directory, upTo: "v7: outbox claims with an owner and a lease") { db in
            try db.execute(sql: Self.sentMessage)
            try db.execute(
                sql: """
                    INSERT INTO held_status_callbacks (id, provider, provider_message_id, status, error_code, received_at) VALUES
                        (4, 'twilio', 'SMold', 'failed', '21610', '2026-11-01 10:00:00.000'),
                        (5, 'twilio', 'SMother', 'failed', '30003', '2026-11-01 10:00:00.000'),
                        (6, 'relay', 'RLx', 'failed', '21610', '2026-11-01 10:00:00.000');
                    """)
        }
        let database = try AppDatabase(path: path)
        try await database.write { db in
            #expect(try Int64.fetchAll(db, sql: "SELECT id FROM held_status_callbacks WHERE opts_out ORDER BY id") == [4])
            try AppDatabase.applyHeldCallbacks(db, provider: "twilio", sid: "SMold")
            #expect(try String.fetchOne(db, sql: "SELECT consent FROM contacts WHERE id = 1") == "opted_out")
            #expect(try String.fetchAll(db, sql: "SELECT source FROM consent_events") == ["provider"])
        }
    }

    @Test("v9 counts a send claimed before it as begun: recovery settles it unknown, never sends it again")
    func claimsBeforeV9() async throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }
        let path = try Self.olderDatabase(in: directory, upTo: "v8: held status callbacks keep whether they opt the contact out") { db in
            try db.execute(sql: Self.sentMessage)
            try db.execute(
                sql: """
                    INSERT INTO outbox (id, message_id, business_id, due_at, attempts, state, lease_owner, lease_expires_at)
                    VALUES (3, 7, 'b', '2026-11-01 10:00:00.000', 1, 'sending', 'a:8080', '2026-11-01 10:01:00.000');
                    """)
        }
        let database = try AppDatabase(path: path)
        #expect(try await database.recoverInterruptedSends(restartOf: "a:8080", now: Date(timeIntervalSince1970: 1_795_618_800)) == 1)
        #expect(try await database.outboxEntry(messageID: MessageID(7))?.state == .unknown)
    }

    /// Message 7, sent by business `b` as `SMold` to contact 1, in conversation 1.
    static let sentMessage = """
        INSERT INTO contacts (id, business_id, phone, created_at) VALUES (1, 'b', '+14155550100', '2026-11-01');
        INSERT INTO conversations (id, business_id, contact_id, last_message_at) VALUES (1, 'b', 1, '2026-11-01');
        INSERT INTO messages (id, conversation_id, direction, kind, provider, provider_message_id, from_number, to_number,
            body, segments, encoding, status, created_at)
        VALUES (7, 1, 'outbound', 'manual', 'twilio', 'SMold', '+15017122661', '+14155550100', 'x', 1, 'GSM-7', 'sent', '2026-11-01');
        """

    /// A file in `directory` as a release with migrations up to `migration` left it, with
    /// `write` run in it; closed, ready for `AppDatabase` to migrate.
    static func olderDatabase(in directory: TemporaryDirectory, upTo migration: String, _ write: (Database) throws -> Void) throws -> String
    {
        let path = directory.path("old.sqlite")
        let old = try DatabaseQueue(path: path)
        try AppDatabase.migrator.migrate(old, upTo: migration)
        try old.write(write)
        try old.close()
        return path
    }
}
