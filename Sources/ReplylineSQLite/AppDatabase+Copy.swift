import Foundation
import GRDB
import ReplylineStore

/// The SQLite side of `StoreCopy`: rows read from a snapshot of the file, and written on a
/// connection of their own that keeps one transaction open across batches.
extension AppDatabase: StoreCopying {
    public func rowCounts() async throws -> [StoredTable: Int] {
        try await writer.read { db in
            var counts: [StoredTable: Int] = [:]
            for table in StoredTable.allCases {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }

    /// The snapshot is a connection of its own holding one read transaction (WAL keeps what
    /// it sees while writers go on). A database opened on a `DatabaseQueue` (tests) has no
    /// snapshots; its reads take turns with its writes.
    public func withSnapshot<T: Sendable>(_ work: @escaping @Sendable (any StoredRowReader) async throws -> T) async throws -> T {
        let database: any DatabaseReader = try (writer as? DatabasePool)?.makeSnapshot() ?? writer
        return try await work(SQLiteRowReader(database: database))
    }

    /// GRDB ends each access with its transaction, and a copy's transaction spans many
    /// (one per batch, between which the source is read), so it runs on a connection of its
    /// own that allows that. SQLite numbers a new row past the largest id by itself: there is
    /// no sequence to move.
    public func withCopyTransaction<T: Sendable>(_ work: @escaping @Sendable (any StoredRowWriter) async throws -> T) async throws -> T {
        let path = writer.path
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else {
            throw StoredValueError("a copy writes into a database file; this database is in memory")
        }
        var configuration = Configuration()
        configuration.label = "copy"
        configuration.allowsUnsafeTransactions = true
        configuration.busyMode = .timeout(10)
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        try await connection.writeWithoutTransaction { db in try db.beginTransaction(.immediate) }
        do {
            let value = try await work(SQLiteRowWriter(connection: connection))
            try await connection.writeWithoutTransaction { db in try db.commit() }
            try connection.close()
            return value
        } catch {
            try? await connection.writeWithoutTransaction { db in try db.rollback() }
            try? connection.close()
            throw error
        }
    }
}

/// Reads rows of a SQLite store, each column as its kind of value.
struct SQLiteRowReader: StoredRowReader {
    let database: any DatabaseReader

    func count(of table: StoredTable) async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    func rows(of table: StoredTable, after id: StoredValue?, limit: Int) async throws -> [StoredRow] {
        let columns = table.columns
        let names = columns.map(\.name).joined(separator: ", ")
        let sql = "SELECT \(names) FROM \(table)\(id == nil ? "" : " WHERE id > ?") ORDER BY id LIMIT ?"
        let arguments = StatementArguments(id.map { [sqliteValue($0), limit.databaseValue] } ?? [limit.databaseValue])
        return try await database.read { db in
            var rows: [StoredRow] = []
            rows.reserveCapacity(limit)
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try cursor.next() {
                var values: [StoredValue] = []
                values.reserveCapacity(columns.count)
                for (index, column) in columns.enumerated() {
                    let value: DatabaseValue = row[index]
                    guard let stored = storedValue(value, as: column.type) else {
                        throw StoredValueError(
                            "\(table).\(column.name) of the row with id \(row[0] as DatabaseValue) holds \(value), not a \(column.type)")
                    }
                    values.append(stored)
                }
                rows.append(StoredRow(values))
            }
            return rows
        }
    }
}

/// Writes rows into a SQLite store inside the copy's transaction.
struct SQLiteRowWriter: StoredRowWriter {
    let connection: DatabaseQueue

    func insert(_ rows: [StoredRow], into table: StoredTable) async throws {
        let columns = table.columns
        let names = columns.map(\.name).joined(separator: ", ")
        let sql = "INSERT INTO \(table) (\(names)) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
        do {
            try await connection.writeWithoutTransaction { db in
                let statement = try db.cachedStatement(sql: sql)
                for row in rows {
                    try statement.execute(arguments: StatementArguments(row.values.map(sqliteValue)))
                }
            }
        } catch let error as DatabaseError {
            throw StoredValueError(error.message ?? "\(error.resultCode)")
        }
    }
}

/// A value as this store keeps it: dates as GRDB's text, booleans as 0 or 1.
private func sqliteValue(_ value: StoredValue) -> DatabaseValue {
    switch value {
    case .null: .null
    case .integer(let number): number.databaseValue
    case .text(let text): text.databaseValue
    case .date(let date): StoredDate.text(date).databaseValue
    case .boolean(let flag): flag.databaseValue
    }
}

/// A stored value read as a column of `type`; nil when it is something else.
private func storedValue(_ value: DatabaseValue, as type: StoredColumn.ValueType) -> StoredValue? {
    switch (value.storage, type) {
    case (.null, _): .null
    case (.int64(let number), .integer): .integer(number)
    case (.int64(let number), .boolean): .boolean(number != 0)
    case (.string(let text), .text): .text(text)
    case (_, .date): (try? StoredDate.decode(value)).map(StoredValue.date)
    default: nil
    }
}
