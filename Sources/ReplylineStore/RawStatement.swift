import Foundation
import GRDB
import GRDBSQLite

/// One of GRDB's cached statements, bound and stepped through SQLite's C API.
///
/// For the webhook's writes and the thread page: there, GRDB's `StatementArguments` (an existential box
/// per value) and `Row` copies were a quarter of the single writer's time. GRDB still
/// prepares and owns the statement; nothing else runs it, and it is reset after each use,
/// so GRDB's own view of it is never disturbed.
struct RawStatement: ~Copyable {
    let statement: SQLiteStatement
    let connection: SQLiteConnection

    init(_ db: Database, _ sql: String) throws {
        statement = try db.cachedStatement(sql: sql).sqliteStatement
        connection = db.sqliteConnection!
        sqlite3_reset(statement)
    }

    deinit { sqlite3_reset(statement) }

    /// SQLite copies the text (SQLITE_TRANSIENT), so the String need not outlive the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ values: RawValue...) {
        for (index, value) in zip(Int32(1)..., values) {
            switch value {
            case .text(let text):
                var text = text
                _ = text.withUTF8 { bytes in
                    sqlite3_bind_text(statement, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
                }
            case .integer(let integer): sqlite3_bind_int64(statement, index, integer)
            case .null: sqlite3_bind_null(statement, index)
            }
        }
    }

    /// Steps once: true at a row, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
                sql: String(cString: sqlite3_sql(statement)))
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    /// The column's text as UTF-8, nil when NULL; valid until the next step.
    func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let start = sqlite3_column_text(statement, column) else { return nil }
        return UnsafeBufferPointer(start: start, count: Int(sqlite3_column_bytes(statement, column)))
    }

    func text(_ column: Int32) -> String? {
        bytes(column).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A stored date (see `StoredDate`); nil when NULL, an error when not a date.
    func date(_ column: Int32) throws -> Date? {
        try StoredDate.decode(text(column)?.databaseValue ?? .null)
    }
}

enum RawValue {
    case text(String)
    case integer(Int64)
    case null

    static func text(_ text: String?) -> RawValue { text.map(RawValue.text) ?? .null }
    static func integer(_ integer: Int64?) -> RawValue { integer.map(RawValue.integer) ?? .null }
    static func integer(_ integer: Int) -> RawValue { .integer(Int64(integer)) }
    static func bool(_ value: Bool) -> RawValue { .integer(value ? 1 : 0) }
}
