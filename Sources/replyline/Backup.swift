import ArgumentParser
import Foundation
import ReplylineSQLite
import ReplylineStore

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database to FILE with SQLite's online backup; safe while `serve` runs.",
        discussion: "The copy is one consistent snapshot, checked with PRAGMA integrity_check before this command succeeds.")

    @Argument(help: "The new SQLite file to write.") var file: String
    @Option(help: "SQLite file to copy.") var database = "./replyline.sqlite"

    func run() async throws {
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
