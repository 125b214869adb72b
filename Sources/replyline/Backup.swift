import ArgumentParser
import Foundation
import ReplylinePostgres
import ReplylineSQLite
import ReplylineStore

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database to a new SQLite FILE; safe while `serve` runs.",
        discussion: """
            A SQLite database is copied with SQLite's online backup; a PostgreSQL one row by row, as `replyline copy` does. \
            Either way the copy is one consistent snapshot, checked with PRAGMA integrity_check (and, from PostgreSQL, each \
            table's rows counted) before this command succeeds.
            """)

    @Argument(help: "The new SQLite file to write.") var file: String
    @Option(help: ArgumentHelp(StoreLocation.help, valueName: "path-or-url")) var database: String?

    func run() async throws {
        let database = StoreLocation.resolve(self.database)
        guard PostgresLocation.isURL(database) else { return try await backUpSQLite(database) }
        guard !FileManager.default.fileExists(atPath: file) else {
            throw CopyFailure("\(file) already exists; choose a new file name or remove it first")
        }
        let started = ContinuousClock.now
        let source = try await StoreLocation.open(database)
        let report: StoreCopyReport
        do {
            report = try await Copy.copy(from: source, to: file, option: "FILE")
        } catch let error as StoreCopyError {
            throw CopyFailure("\(error); no backup was written")
        }
        let integrity = try await AppDatabase(path: file).integrityCheck()
        guard integrity == "ok" else { throw CopyFailure("the copy at \(file) failed its integrity check: \(integrity)") }
        guard report.matches else {
            print(report.table, terminator: "")
            let differing = report.tables.filter { !$0.matches }.map(\.table.rawValue).joined(separator: ", ")
            throw CopyFailure("the copy at \(file) does not hold the rows of \(StoreLocation.display(database)) in \(differing)")
        }
        print(
            "\(file): \(report.copiedRows) rows copied from \(StoreLocation.display(database)) in "
                + "\(CopyProgress.seconds(ContinuousClock.now - started)); integrity ok; every table's rows arrived")
    }

    private func backUpSQLite(_ database: String) async throws {
        guard FileManager.default.fileExists(atPath: database) else {
            throw ValidationError("\(database) does not exist; pass the live database with --database")
        }
        let started = ContinuousClock.now
        try await AppDatabase(path: database).backup(to: file)
        let integrity = try await AppDatabase(path: file).integrityCheck()
        guard integrity == "ok" else { throw ValidationError("the copy at \(file) failed its integrity check: \(integrity)") }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        print("\(file): \(size / 1024) KiB copied from \(database) in \(ContinuousClock.now - started); integrity ok")
    }
}
