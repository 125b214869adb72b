import ArgumentParser
import ReplylineSQLite
import ReplylineStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema, then exit.")

    @Option(help: "SQLite file.") var database = "./replyline.sqlite"

    func run() async throws {
        let db = try AppDatabase(path: database)
        print("\(database): migrated; integrity \(try await db.integrityCheck())")
    }
}
