import Foundation
import PostgresNIO
import ReplylineStore

/// The PostgreSQL side of `StoreCopy`: rows read in one repeatable-read transaction, and
/// written in one transaction that ends by moving each identity past the ids copied.
extension PostgresStore: StoreCopying {
    public func rowCounts() async throws -> [StoredTable: Int] {
        try await read { connection in
            var counts: [StoredTable: Int] = [:]
            for table in StoredTable.allCases { counts[table] = try await PostgresRowReader(connection: connection).count(of: table) }
            return counts
        }
    }

    public func withSnapshot<T: Sendable>(_ work: @escaping @Sendable (any StoredRowReader) async throws -> T) async throws -> T {
        try await copyTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { connection in
            try await work(PostgresRowReader(connection: connection))
        }
    }

    public func withCopyTransaction<T: Sendable>(_ work: @escaping @Sendable (any StoredRowWriter) async throws -> T) async throws -> T {
        try await copyTransaction("BEGIN") { connection in
            let value = try await work(PostgresRowWriter(connection: connection))
            // The next generated id follows the largest one now there (1 when none is).
            for table in StoredTable.allCases where table.hasGeneratedIDs {
                let largest = "COALESCE((SELECT MAX(id) FROM \(table)), 0)"
                try await connection.run(
                    PostgresQuery(unsafeSQL: "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), \(largest) + 1, false)"))
            }
            return value
        }
    }

    /// How long a copy may hold its connection: as long as its rows take (a million messages
    /// take about a minute), where an operation gets `operationLimit`.
    static let copyLimit: Duration = .seconds(24 * 60 * 60)

    /// Runs `work` in a transaction begun with `begin` on a connection of its own for up to
    /// `copyLimit`. Not `read` or `write`: they give up after `operationLimit`, and `write`
    /// runs its work again after a deadlock, where this work reads another store and reports
    /// progress; a copy that meets one fails, with nothing written.
    private func copyTransaction<T: Sendable>(
        _ begin: String, _ work: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await transaction(begin, limit: Self.copyLimit, retries: false, work)
    }
}

/// Reads rows of a PostgreSQL store inside the snapshot's transaction.
struct PostgresRowReader: StoredRowReader {
    let connection: PostgresConnection

    func count(of table: StoredTable) async throws -> Int {
        try await connection.row(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"))?.get(0, as: Int.self) ?? 0
    }

    func rows(of table: StoredTable, after id: StoredValue?, limit: Int) async throws -> [StoredRow] {
        let columns = table.columns
        var bindings = PostgresBindings()
        var sql = "SELECT \(columns.map(\.name).joined(separator: ", ")) FROM \(table)"
        if let id {
            bindings.append(id)
            sql += " WHERE id > $1"
        }
        bindings.append(Int64(limit))
        sql += " ORDER BY id LIMIT $\(bindings.count)"
        return try await connection.rows(PostgresQuery(unsafeSQL: sql, binds: bindings)).map { row in
            StoredRow(
                try columns.enumerated().map { index, column in
                    let cell = row[index]
                    switch column.type {
                    case .integer: return try cell.decode(Int64?.self).map(StoredValue.integer) ?? .null
                    case .text: return try cell.decode(String?.self).map(StoredValue.text) ?? .null
                    case .date: return try cell.decode(Date?.self).map(StoredValue.date) ?? .null
                    case .boolean: return try cell.decode(Bool?.self).map(StoredValue.boolean) ?? .null
                    }
                })
        }
    }
}

/// Writes rows into a PostgreSQL store inside the copy's transaction, many to a statement.
struct PostgresRowWriter: StoredRowWriter {
    let connection: PostgresConnection

    /// The most parameters one statement can carry (the protocol counts them in 16 bits).
    static let maximumBindings = 65_535

    func insert(_ rows: [StoredRow], into table: StoredTable) async throws {
        let columns = table.columns
        let names = columns.map(\.name).joined(separator: ", ")
        let rowsPerStatement = Self.maximumBindings / columns.count
        do {
            for start in stride(from: 0, to: rows.count, by: rowsPerStatement) {
                let part = rows[start..<min(start + rowsPerStatement, rows.count)]
                var bindings = PostgresBindings(capacity: part.count * columns.count)
                var tuples: [String] = []
                tuples.reserveCapacity(part.count)
                for row in part {
                    let first = bindings.count + 1
                    for value in row.values { bindings.append(value) }
                    tuples.append("(" + (first...bindings.count).map { "$\($0)" }.joined(separator: ", ") + ")")
                }
                let sql = "INSERT INTO \(table) (\(names)) VALUES \(tuples.joined(separator: ", "))"
                try await connection.run(PostgresQuery(unsafeSQL: sql, binds: bindings))
            }
        } catch {
            throw StoredValueError(PostgresStore.explain(error))
        }
    }
}

extension PostgresBindings {
    /// Appends a stored value; a NULL takes the type of the column it goes into.
    mutating func append(_ value: StoredValue) {
        switch value {
        case .null: appendNull()
        case .integer(let number): append(number)
        case .text(let text): append(text)
        case .date(let date): append(PostgresTimestamp(date))
        case .boolean(let flag): append(flag)
        }
    }
}

/// A date as PostgreSQL stores it, microseconds since 2000, rounded to the nearest:
/// PostgresNIO's own encoding of a Date truncates, and a date read back as a Date (a
/// binary fraction) would lose a microsecond on its way in again.
struct PostgresTimestamp: PostgresDynamicTypeEncodable {
    let microseconds: Int64

    /// 2000-01-01, PostgreSQL's epoch, is 366 days before 2001-01-01, Foundation's.
    init(_ date: Date) {
        microseconds = Int64(((date.timeIntervalSinceReferenceDate + 31_622_400) * 1_000_000).rounded())
    }

    var psqlType: PostgresDataType { .timestamptz }
    var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(microseconds)
    }
}
