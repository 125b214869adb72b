import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

/// The one owner of Replyline's database: it holds the writer and the migrations and
/// exposes application operations (`recordInbound`, `createAppointment`, ...), never SQL.
///
/// Writes go through a group committer, so concurrent webhooks share commits without any
/// of them being acknowledged before its own data is durable.
public final class AppDatabase: ConversationStore {
    let writer: any DatabaseWriter
    let committer: GroupCommitter
    let checkpointer: Checkpointer?
    /// The inbox events of this process's commits (see `inboxEvents(businessID:)`).
    let eventHub = InboxEventHub()

    /// Opens (creating if needed) the SQLite file at `path` in WAL mode and migrates it.
    /// - Parameter idleLogTruncation: how long the write-ahead log must sit idle before it
    ///   is truncated (see `Checkpointer`).
    public convenience init(path: String, idleLogTruncation: TimeInterval = 5) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // The writer checkpoints only past 32,768 pages (128 MiB of log) instead of
            // SQLite's 1,000: each of its checkpoints holds the next batch of webhooks, and
            // `Checkpointer` does the copying off the writer meanwhile. Measured
            // (scripts/loadtest, 2 × 10 s each): 2,000 pages 8.0k webhooks/s, 8,000 8.5k,
            // 20,000 9.5k, 40,000 9.8k. The log file grows to about this size on disk.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 32768")
            // Every connection reads the file through a memory map (SQLite's `mmap_size`, up
            // to 1 GiB of file), so a page missing from the cache costs a copy from the page
            // cache of the kernel, not a read call. The writer's own cache can then stay at
            // 8 MiB: each commit walks the whole cache (SQLite truncates it to the file's size,
            // and after a b-tree split it looks at every page), so a bigger one costs every
            // commit. Measured (scripts/loadtest, 2 × 6 s alternated, against the build with
            // custom C): 64 MiB and no map 0.816 times, 8 MiB and the map 0.865, 2,000 pages
            // and the map 0.877 with p99 46 ms against 30. The catch SQLite documents: an I/O
            // error while reading mapped pages is a SIGBUS, not an error code; what is
            // committed is in the synced log, so a crash there loses nothing acknowledged.
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA cache_size = -8192")
                // Inside a savepoint (see `GroupCommitter`) SQLite keeps the pages a job
                // changes in a statement journal, and past 64 KiB it moved that journal to a
                // temporary file: when every webhook had its savepoint, 460,000 of the
                // 720,000 writes in 8 s of load test (perf stat). In memory it is a copy.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
        }
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        // FULL: a commit is on disk before the webhook that caused it is acknowledged. Set
        // here, on the pool's one writer connection: the pool sets NORMAL after running
        // `prepareDatabase` (SQLite's suggestion for WAL, which can lose the last commits
        // when the machine loses power), so a FULL set there never took effect.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try self.init(writer: pool, checkpointer: Checkpointer(path: path, idleTruncation: idleLogTruncation))
    }

    public convenience init(writer: any DatabaseWriter) throws {
        try self.init(writer: writer, checkpointer: nil)
    }

    init(writer: any DatabaseWriter, checkpointer: Checkpointer?) throws {
        self.writer = writer
        self.committer = GroupCommitter(writer: writer, committed: { checkpointer?.committed() })
        self.checkpointer = checkpointer
        try Self.migrator.migrate(writer)
    }

    deinit {
        checkpointer?.stop()
    }

    /// Runs `work` in the shared group-commit transaction and returns once it is committed.
    /// A disk that is full or failing throws `StoreUnavailable`: nothing was committed.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await committer.submit(work)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StoreUnavailable(reason: "the disk holding the database is full")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_IOERR {
            throw StoreUnavailable(reason: "the database's disk failed a read or write (\(error.resultCode))")
        }
    }

    /// Runs `work` as `write` does, then publishes the inbox events it returns.
    func write<T: Sendable>(publishing work: @escaping @Sendable (Database) throws -> (T, [InboxEvent])) async throws -> T {
        let (value, events) = try await write(work)
        eventHub.publish(events)
        return value
    }

    /// The business's inbox events, published by this process after each commit: a SQLite
    /// file has one server process.
    public func inboxEvents(businessID: String) -> InboxEventSubscription {
        eventHub.subscribe(businessID: businessID)
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.read(work)
    }

    /// Copies the database to a new SQLite file at `path` with SQLite's online backup,
    /// while writes go on: the copy is one consistent snapshot. Refuses to overwrite.
    public func backup(to path: String) async throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw BackupError("\(path) already exists; choose a new file name or remove it first")
        }
        let destination = try DatabaseQueue(path: path)
        try writer.backup(to: destination)
        try destination.close()
    }

    /// The file is on this machine: it is there while the process runs. A full disk shows
    /// on writes, as `StoreUnavailable`.
    public func checkAvailable() async throws {}

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    public func integrityCheck() async throws -> String {
        try await writer.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: threads, appointments, consent ledger, outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE contacts (
                        id INTEGER PRIMARY KEY,
                        business_id TEXT NOT NULL,
                        phone TEXT NOT NULL,
                        name TEXT,
                        consent TEXT NOT NULL DEFAULT 'opted_in' CHECK (consent IN ('opted_in', 'opted_out')),
                        number_invalid BOOLEAN NOT NULL DEFAULT 0,
                        created_at DATETIME NOT NULL,
                        UNIQUE (business_id, phone)
                    );
                    CREATE TABLE conversations (
                        id INTEGER PRIMARY KEY,
                        business_id TEXT NOT NULL,
                        contact_id INTEGER NOT NULL UNIQUE REFERENCES contacts(id),
                        unread_count INTEGER NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
                        needs_reply BOOLEAN NOT NULL DEFAULT 0,
                        staff_flag TEXT,
                        last_message_at DATETIME NOT NULL,
                        last_message_preview TEXT NOT NULL DEFAULT '',
                        last_unrecognized_reply_at DATETIME
                    );
                    CREATE INDEX conversations_by_activity ON conversations (business_id, last_message_at DESC, id DESC);
                    CREATE TABLE appointments (
                        id TEXT PRIMARY KEY,
                        business_id TEXT NOT NULL,
                        contact_id INTEGER NOT NULL REFERENCES contacts(id),
                        customer_name TEXT,
                        service TEXT NOT NULL,
                        starts_at DATETIME NOT NULL,
                        amount_cents INTEGER,
                        state TEXT NOT NULL CHECK (state IN ('scheduled', 'awaiting_reply', 'confirmed',
                            'reschedule_requested', 'cancelled', 'completed', 'no_show')),
                        created_at DATETIME NOT NULL,
                        updated_at DATETIME NOT NULL
                    );
                    CREATE INDEX appointments_by_contact ON appointments (contact_id, starts_at);
                    CREATE TABLE messages (
                        id INTEGER PRIMARY KEY,
                        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
                        direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
                        kind TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        provider_message_id TEXT,
                        from_number TEXT NOT NULL,
                        to_number TEXT NOT NULL,
                        body TEXT NOT NULL,
                        media TEXT NOT NULL DEFAULT '[]',
                        segments INTEGER NOT NULL,
                        encoding TEXT NOT NULL CHECK (encoding IN ('GSM-7', 'UCS-2')),
                        status TEXT NOT NULL,
                        error_code TEXT,
                        error_message TEXT,
                        intent TEXT,
                        parameters TEXT,
                        webhook_reply TEXT,
                        in_reply_to INTEGER REFERENCES messages(id),
                        appointment_id TEXT REFERENCES appointments(id),
                        created_at DATETIME NOT NULL,
                        sent_at DATETIME,
                        UNIQUE (provider, provider_message_id)
                    );
                    CREATE INDEX messages_by_thread ON messages (conversation_id, id);
                    CREATE TABLE consent_events (
                        id INTEGER PRIMARY KEY,
                        business_id TEXT NOT NULL,
                        contact_id INTEGER NOT NULL REFERENCES contacts(id),
                        phone TEXT NOT NULL,
                        from_state TEXT NOT NULL,
                        to_state TEXT NOT NULL,
                        source TEXT NOT NULL CHECK (source IN ('keyword', 'inferred', 'provider', 'api', 'import')),
                        message_id TEXT,
                        created_at DATETIME NOT NULL
                    );
                    CREATE INDEX consent_events_by_contact ON consent_events (contact_id, id);
                    CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
                        BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
                    CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
                        BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY,
                        message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),
                        business_id TEXT NOT NULL,
                        due_at DATETIME NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'blocked', 'failed', 'cancelled', 'unknown'))
                    );
                    CREATE INDEX outbox_due ON outbox (state, due_at);
                    CREATE TABLE message_status_events (
                        id INTEGER PRIMARY KEY,
                        message_id INTEGER NOT NULL REFERENCES messages(id),
                        status TEXT NOT NULL,
                        error_code TEXT,
                        error_message TEXT,
                        created_at DATETIME NOT NULL
                    );
                    CREATE INDEX message_status_events_by_message ON message_status_events (message_id, id);
                    CREATE INDEX messages_sent ON messages (conversation_id, sent_at) WHERE sent_at IS NOT NULL;
                    CREATE TABLE held_status_callbacks (
                        id INTEGER PRIMARY KEY,
                        provider TEXT NOT NULL,
                        provider_message_id TEXT NOT NULL,
                        status TEXT NOT NULL,
                        error_code TEXT,
                        error_message TEXT,
                        received_at DATETIME NOT NULL
                    );
                    CREATE INDEX held_status_callbacks_by_id ON held_status_callbacks (provider, provider_message_id);
                    CREATE INDEX messages_by_appointment ON messages (appointment_id) WHERE appointment_id IS NOT NULL;
                    """)
        }
        // SQLite checks `x IN (more than two constants)` by building a temporary b-tree of
        // the constants, every time a statement writes the row: for each C or R reply's
        // appointment update, each STOP or START's ledger entry, each outbox change. The
        // same rule written as comparisons costs a few instructions. SQLite cannot change a
        // CHECK in place, so these three tables are rebuilt (its documented 12-step way;
        // GRDB defers foreign-key checks to the end of the migration). Measured with the
        // system SQLite (100,000 single-row updates of a 7-state column): 5.4 µs each with
        // IN, 2.8 µs with comparisons.
        migrator.registerMigration("v2: CHECK constraints as comparisons, not IN lists") { db in
            try db.execute(
                sql: """
                    CREATE TABLE new_appointments (
                        id TEXT PRIMARY KEY,
                        business_id TEXT NOT NULL,
                        contact_id INTEGER NOT NULL REFERENCES contacts(id),
                        customer_name TEXT,
                        service TEXT NOT NULL,
                        starts_at DATETIME NOT NULL,
                        amount_cents INTEGER,
                        state TEXT NOT NULL CONSTRAINT appointment_state CHECK (state = 'scheduled' OR state = 'awaiting_reply'
                            OR state = 'confirmed' OR state = 'reschedule_requested' OR state = 'cancelled' OR state = 'completed'
                            OR state = 'no_show'),
                        created_at DATETIME NOT NULL,
                        updated_at DATETIME NOT NULL
                    );
                    INSERT INTO new_appointments SELECT * FROM appointments;
                    DROP TABLE appointments;
                    ALTER TABLE new_appointments RENAME TO appointments;
                    CREATE INDEX appointments_by_contact ON appointments (contact_id, starts_at);

                    CREATE TABLE new_consent_events (
                        id INTEGER PRIMARY KEY,
                        business_id TEXT NOT NULL,
                        contact_id INTEGER NOT NULL REFERENCES contacts(id),
                        phone TEXT NOT NULL,
                        from_state TEXT NOT NULL,
                        to_state TEXT NOT NULL,
                        source TEXT NOT NULL CONSTRAINT consent_source CHECK (source = 'keyword' OR source = 'inferred'
                            OR source = 'provider' OR source = 'api' OR source = 'import'),
                        message_id TEXT,
                        created_at DATETIME NOT NULL
                    );
                    INSERT INTO new_consent_events SELECT * FROM consent_events;
                    DROP TABLE consent_events;
                    ALTER TABLE new_consent_events RENAME TO consent_events;
                    CREATE INDEX consent_events_by_contact ON consent_events (contact_id, id);
                    CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
                        BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
                    CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
                        BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

                    CREATE TABLE new_outbox (
                        id INTEGER PRIMARY KEY,
                        message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),
                        business_id TEXT NOT NULL,
                        due_at DATETIME NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        state TEXT NOT NULL CONSTRAINT outbox_state CHECK (state = 'pending' OR state = 'sending' OR state = 'sent'
                            OR state = 'blocked' OR state = 'failed' OR state = 'cancelled' OR state = 'unknown')
                    );
                    INSERT INTO new_outbox SELECT * FROM outbox;
                    DROP TABLE outbox;
                    ALTER TABLE new_outbox RENAME TO outbox;
                    CREATE INDEX outbox_due ON outbox (state, due_at);
                    """)
        }
        // Fewer index entries per webhook, each a random leaf written, logged and copied:
        // - A reply is a sent message, so it went into two indexes keyed by conversation:
        //   the thread's (conversation_id, id) and messages_sent's (conversation_id,
        //   sent_at). One index now holds both: a thread page reads it by id, and "sent in
        //   this conversation since" and the monthly counts read sent_at from it, fetching
        //   rows only for messages in range.
        // - A C or R and its reply name their appointment, and both went into
        //   messages_by_appointment, which only finds outbound messages to cancel with their
        //   appointment. It now holds only those.
        // Measured (the writer's bytes over 5 s of scripts/loadtest traffic, twice each):
        // 6.1 pages logged per webhook before, 5.65 with the first change, 5.45 with both;
        // `scripts/loadtest --binary` in turn, 6 runs each: 1.067 times the requests/s.
        migrator.registerMigration("v3: fewer index entries per webhook") { db in
            try db.execute(
                sql: """
                    DROP INDEX messages_sent;
                    DROP INDEX messages_by_thread;
                    CREATE INDEX messages_by_thread ON messages (conversation_id, id, sent_at);
                    DROP INDEX messages_by_appointment;
                    CREATE INDEX messages_by_appointment ON messages (appointment_id)
                        WHERE appointment_id IS NOT NULL AND direction = 'outbound' AND kind <> 'reply';
                    """)
        }
        // A confirmation request or reminder can be overtaken before it is due: a `C`
        // before opening time, a cancellation, a new time. The worker now skips such a
        // message, so the outbox gains a `skipped` state, and each entry keeps the start
        // time its text names (NULL for entries queued before, whose appointments'
        // reschedules already cancelled them).
        migrator.registerMigration("v4: skipped outbox entries, the start time a message names") { db in
            try db.execute(
                sql: """
                    CREATE TABLE new_outbox (
                        id INTEGER PRIMARY KEY,
                        message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),
                        business_id TEXT NOT NULL,
                        due_at DATETIME NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        state TEXT NOT NULL CONSTRAINT outbox_state CHECK (state = 'pending' OR state = 'sending' OR state = 'sent'
                            OR state = 'blocked' OR state = 'failed' OR state = 'cancelled' OR state = 'unknown' OR state = 'skipped'),
                        appointment_starts_at DATETIME
                    );
                    INSERT INTO new_outbox (id, message_id, business_id, due_at, attempts, last_error, state)
                        SELECT id, message_id, business_id, due_at, attempts, last_error, state FROM outbox;
                    DROP TABLE outbox;
                    ALTER TABLE new_outbox RENAME TO outbox;
                    CREATE INDEX outbox_due ON outbox (state, due_at);
                    """)
        }
        // A status callback names a message by its provider id alone; one held for an id
        // not yet known keeps what ties it to a business (its AccountSid, its From, and the
        // business it was checked against), so it is checked again when its message appears.
        migrator.registerMigration("v5: held status callbacks keep their account, number and business") { db in
            try db.execute(
                sql: """
                    ALTER TABLE held_status_callbacks ADD COLUMN account_sid TEXT;
                    ALTER TABLE held_status_callbacks ADD COLUMN from_number TEXT;
                    ALTER TABLE held_status_callbacks ADD COLUMN business_id TEXT;
                    """)
        }
        // GET /api/v1/appointments lists a business's appointments by start time, then id;
        // they were indexed only by contact, so a list would read and sort the whole table.
        // One index serves every filter and the cursor (see `appointmentList`). A webhook's
        // C or R changes an appointment's state, not these columns: it writes no entry here.
        migrator.registerMigration("v6: appointments by business and start time") { db in
            try db.execute(sql: "CREATE INDEX appointments_by_business ON appointments (business_id, starts_at, id)")
        }
        // An outbox claim names its instance and how long it holds, so that with several
        // instances on one database a restart settles only the sends that can no longer be
        // in flight (see `recoverInterruptedSends`).
        migrator.registerMigration("v7: outbox claims with an owner and a lease") { db in
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
                    ALTER TABLE outbox ADD COLUMN lease_expires_at DATETIME;
                    """)
        }
        // Whether a status callback unsubscribes its contact is the provider's to say (its
        // error table), not the store's; a held callback keeps the answer until it applies.
        // Rows held before came from Twilio, whose 21610 is that code.
        migrator.registerMigration("v8: held status callbacks keep whether they opt the contact out") { db in
            try db.execute(
                sql: """
                    ALTER TABLE held_status_callbacks ADD COLUMN opts_out BOOLEAN NOT NULL DEFAULT 0;
                    UPDATE held_status_callbacks SET opts_out = 1 WHERE provider = 'twilio' AND error_code = '21610';
                    """)
        }
        // A claim reserves an entry for its instance; the attempt begins just before the
        // provider is called. A claim whose attempt never began (its instance died between
        // the two) goes back to pending: the provider cannot have it.
        migrator.registerMigration("v9: outbox attempts begin apart from claims") { db in
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN attempt_started_at DATETIME;
                    UPDATE outbox SET attempt_started_at = COALESCE(lease_expires_at, due_at) WHERE state = 'sending';
                    """)
        }
        // The staff web inbox: accounts, sessions kept in the database so every instance
        // knows them, sign-in failures for the limit, and indexes for the inbox's counts.
        migrator.registerMigration("v10: staff accounts, sessions, sign-in failures") { db in
            try db.execute(sql: StaffSchema.sql(date: "DATETIME", generatedID: "INTEGER PRIMARY KEY"))
        }
        // Voice-agent calls and the SMS each asked for, keyed by the call's own id so a
        // retried call event sends nothing twice.
        migrator.registerMigration("v11: calls and their SMS") { db in
            for statement in CallSchema.statements(date: "DATETIME", generatedID: "INTEGER PRIMARY KEY", reference: "INTEGER") {
                try db.execute(sql: statement)
            }
        }
        return migrator
    }
}
