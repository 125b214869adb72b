import Foundation

/// Copies a whole store into another, SQLite or PostgreSQL either way: every table in
/// foreign-key order, every row with its id and values as they are, in batches, so that a
/// store of any size passes through a few batches of memory.
///
/// The rows come from one snapshot of the source, so a copy of a store in use is consistent.
/// They go into the target in one transaction for the whole copy: a copy that fails leaves
/// the target as it was, and running it again needs nothing cleared first. (One transaction
/// per table would leave the first tables behind, and a second run would meet their rows.)
public struct StoreCopy: Sendable {
    public var source: any StoreCopying
    public var target: any StoreCopying
    /// Rows read and written at a time; two batches are in memory at once (one read ahead).
    public var batchSize: Int

    public init(from source: any StoreCopying, to target: any StoreCopying, batchSize: Int = 1000) {
        self.source = source
        self.target = target
        self.batchSize = batchSize
    }

    /// Called after each batch with its table, the rows copied so far and the rows the
    /// table holds in the source.
    public typealias Progress = @Sendable (_ table: StoredTable, _ copied: Int, _ total: Int) -> Void

    /// Copies everything, then counts the target's rows again.
    /// - Parameter intoNonEmpty: copy even when the target already holds rows (they stay;
    ///   a copied row whose id is among them fails the copy). Otherwise such a target is
    ///   refused with `StoreCopyError.targetNotEmpty` before anything is written.
    public func run(intoNonEmpty: Bool = false, progress: @escaping Progress = { _, _, _ in }) async throws -> StoreCopyReport {
        let before = try await target.rowCounts()
        let occupied = StoredTable.allCases.filter { before[$0, default: 0] > 0 }
        if !occupied.isEmpty, !intoNonEmpty {
            throw StoreCopyError.targetNotEmpty(occupied.map { ($0, before[$0, default: 0]) })
        }
        let target = self.target
        let batchSize = self.batchSize
        let copied = try await source.withSnapshot { reader in
            var tally: [StoredTable: Int] = [:]
            for table in StoredTable.allCases { tally[table] = try await reader.count(of: table) }
            let counts = tally
            try await target.withCopyTransaction { writer in
                for table in StoredTable.allCases {
                    try await Self.copy(table, from: reader, to: writer, batchSize: batchSize) { copied in
                        progress(table, copied, counts[table, default: 0])
                    }
                }
            }
            return counts
        }
        let after = try await target.rowCounts()
        return StoreCopyReport(
            tables: StoredTable.allCases.map {
                StoreCopyReport.Line(
                    table: $0, source: copied[$0, default: 0], targetBefore: before[$0, default: 0], target: after[$0, default: 0])
            })
    }

    /// Copies one table batch by batch, reading the next batch while the last one is written.
    private static func copy(
        _ table: StoredTable, from reader: any StoredRowReader, to writer: any StoredRowWriter, batchSize: Int,
        progress: (Int) -> Void
    ) async throws {
        var batch = try await reader.rows(of: table, after: nil, limit: batchSize)
        var copied = 0
        while !batch.isEmpty {
            let current = batch
            // A short batch was the last one.
            async let next = current.count < batchSize ? [] : reader.rows(of: table, after: current[current.count - 1].id, limit: batchSize)
            do {
                try await writer.insert(current, into: table)
            } catch {
                throw StoreCopyError.writeFailed(table, first: current[0].id, last: current[current.count - 1].id, reason: "\(error)")
            }
            copied += current.count
            progress(copied)
            batch = try await next
        }
    }
}

/// What a copy found: each table's rows in the source and in the target.
public struct StoreCopyReport: Sendable {
    public struct Line: Sendable, Equatable {
        public var table: StoredTable
        /// Rows in the source's snapshot: the rows copied.
        public var source: Int
        /// Rows the target held before (none unless the copy was told to go into rows).
        public var targetBefore: Int
        /// Rows the target holds after the copy.
        public var target: Int

        /// Whether every source row arrived and nothing else changed.
        public var matches: Bool { target == targetBefore + source }
    }

    public var tables: [Line]

    /// Whether every table's rows arrived.
    public var matches: Bool { tables.allSatisfy(\.matches) }
    /// Rows copied in all.
    public var copiedRows: Int { tables.reduce(0) { $0 + $1.source } }
}

/// Why a copy did not happen; in each case the target is as it was.
public enum StoreCopyError: Error, CustomStringConvertible {
    /// The target already holds rows, in these tables.
    case targetNotEmpty([(StoredTable, Int)])
    /// The target refused a batch of rows (a duplicate id, say).
    case writeFailed(StoredTable, first: StoredValue, last: StoredValue, reason: String)

    public var description: String {
        switch self {
        case .targetNotEmpty(let tables):
            let list = tables.map { "\($0.0) (\($0.1) rows)" }.joined(separator: ", ")
            return "the target already holds rows in \(list)"
        case .writeFailed(let table, let first, let last, let reason):
            return "the target refused \(table) ids \(first) to \(last): \(reason)"
        }
    }
}
