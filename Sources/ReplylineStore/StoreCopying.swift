import Foundation

/// A store whose whole content can be read out and written into another, row by row and
/// id for id, as the same plain values on every database: what `replyline copy` and a
/// PostgreSQL `backup` use (`StoreCopy`). Beside `ConversationStore`, not part of it: the
/// server never sees rows.
public protocol StoreCopying: Sendable {
    /// The rows each table holds now.
    func rowCounts() async throws -> [StoredTable: Int]

    /// Runs `work` with a reader that sees one snapshot of the whole store throughout,
    /// whatever is written meanwhile, so the rows it reads always refer to rows it can read.
    func withSnapshot<T: Sendable>(_ work: @escaping @Sendable (any StoredRowReader) async throws -> T) async throws -> T

    /// Runs `work` with a writer inside one transaction: committed when `work` returns, rolled
    /// back when it throws, so the store gets every row or none. Before the commit the
    /// store's id numbering moves past the largest id of each table.
    func withCopyTransaction<T: Sendable>(_ work: @escaping @Sendable (any StoredRowWriter) async throws -> T) async throws -> T
}

/// Reads a store's rows out of one snapshot (`StoreCopying.withSnapshot`).
public protocol StoredRowReader: Sendable {
    /// How many rows `table` holds in the snapshot.
    func count(of table: StoredTable) async throws -> Int

    /// Up to `limit` rows of `table` in id order, from the first row after the one whose id
    /// is `id` (from the start when nil).
    func rows(of table: StoredTable, after id: StoredValue?, limit: Int) async throws -> [StoredRow]
}

/// Writes rows into a store as they are, ids included (`StoreCopying.withCopyTransaction`).
public protocol StoredRowWriter: Sendable {
    /// Inserts `rows` into `table`; a row whose id or unique key is already there fails the
    /// whole copy.
    func insert(_ rows: [StoredRow], into table: StoredTable) async throws
}
