import ArgumentParser
import Foundation
import ReplylinePostgres
import ReplylineStore
import Synchronization

struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a whole store into an empty one: SQLite into PostgreSQL, PostgreSQL into SQLite, either into its own kind.",
        discussion: """
            The target is created or migrated first and must hold no rows (unless --force). Every row keeps its id and values, \
            table by table in batches, read from one snapshot of the source (which may be in use) and written in one transaction: \
            a copy that fails leaves the target as it was. PostgreSQL's id sequences then continue past the largest id copied. \
            Progress goes to stderr; the rows of each table in source and target to stdout, and the exit status is 1 if they differ.
            """)

    @Option(help: ArgumentHelp("The store to copy: a SQLite file or a postgres:// URL.", valueName: "path-or-url")) var from: String
    @Option(
        help: ArgumentHelp("The store to copy into: a SQLite file (created if missing) or a postgres:// URL.", valueName: "path-or-url"))
    var to: String
    @Flag(help: "Copy into a target that already holds rows: they stay, and a copied id already there fails the whole copy.")
    var force = false

    func run() async throws {
        guard Self.identity(from) != Self.identity(to) else {
            throw CopyFailure("--from and --to both name \(StoreLocation.display(from)); copy into another database")
        }
        let source = try await StoreLocation.open(from, mustExist: true, option: "--from")
        let started = ContinuousClock.now
        let report: StoreCopyReport
        do {
            report = try await Self.copy(from: source, to: to, option: "--to", intoNonEmpty: force)
        } catch StoreCopyError.targetNotEmpty(let tables) {
            let list = tables.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
            throw CopyFailure(
                "\(StoreLocation.display(to)) already holds rows (\(list)); copy into a new SQLite file or an empty PostgreSQL "
                    + "database, or pass --force to add the source's rows to these")
        } catch let error as StoreCopyError {
            throw CopyFailure("\(error); nothing was copied: \(StoreLocation.display(to)) is as it was")
        }
        print(report.table, terminator: "")
        let elapsed = CopyProgress.seconds(ContinuousClock.now - started)
        guard report.matches else {
            let differing = report.tables.filter { !$0.matches }.map(\.table.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("the target's rows differ from the source's in \(differing)\n".utf8))
            throw ExitCode.failure
        }
        print(
            "copied \(report.copiedRows) rows from \(StoreLocation.display(from)) to \(StoreLocation.display(to)) in \(elapsed); "
                + "every table's rows arrived")
    }

    /// Copies `source` into the store at `target` (`option` named it), which is created or
    /// migrated first, with progress on stderr. A SQLite file made here is removed again,
    /// with its log, when the copy fails: it holds nothing.
    static func copy(
        from source: any StoreCopying, to target: String, option: String, intoNonEmpty: Bool = false
    ) async throws -> StoreCopyReport {
        let isNewFile = !PostgresLocation.isURL(target) && !FileManager.default.fileExists(atPath: target)
        if isNewFile {
            let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: folder) else {
                throw CopyFailure("no folder \(folder) for \(option); create it first")
            }
        }
        let progress = CopyProgress()
        do {
            // The target is let go before its file may be removed.
            return try await StoreCopy(from: source, to: StoreLocation.open(target, option: option)).run(intoNonEmpty: intoNonEmpty) {
                progress.report($0, copied: $1, total: $2)
            }
        } catch {
            if isNewFile { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: target + suffix) } }
            throw error
        }
    }

    /// What tells two databases apart: a file's real path, a server's URL without the password.
    static func identity(_ database: String) -> String {
        guard !PostgresLocation.isURL(database) else { return StoreLocation.display(database) }
        return URL(fileURLWithPath: database).standardizedFileURL.resolvingSymlinksInPath().path
    }
}

/// Why `copy` or `backup` stopped, in one line saying what to do.
struct CopyFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A copy's progress on stderr: a line when a table is done, and at most one a second while
/// a large one is copied.
final class CopyProgress: Sendable {
    private let lastLine = Mutex(ContinuousClock.now)

    func report(_ table: StoredTable, copied: Int, total: Int) {
        let now = ContinuousClock.now
        let due = lastLine.withLock { last in
            guard copied >= total || now - last >= .seconds(1) else { return false }
            last = now
            return true
        }
        if due { FileHandle.standardError.write(Data("copying \(table): \(copied) of \(total) rows\n".utf8)) }
    }

    /// "12.3 s".
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.1f s", Double(seconds) + Double(attoseconds) / 1e18)
    }
}

extension StoreCopyReport {
    /// Each table's rows in the source and the target, aligned; the target's rows before the
    /// copy too when it had any.
    var table: String {
        let before = tables.contains { $0.targetBefore > 0 }
        func line(_ cells: [String]) -> String {
            cells[0].padding(toLength: 24, withPad: " ", startingAt: 0)
                + cells.dropFirst().map { String(repeating: " ", count: max(0, 10 - $0.count)) + $0 }.joined()
                + "\n"
        }
        var text = line(["table", "source"] + (before ? ["before"] : []) + ["target"])
        for row in tables {
            text += line([row.table.rawValue, String(row.source)] + (before ? [String(row.targetBefore)] : []) + [String(row.target)])
        }
        return text
    }
}
