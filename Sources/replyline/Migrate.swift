import ArgumentParser
import ReplylineStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or upgrade the database schema, then exit.",
        discussion: "On PostgreSQL, instances starting together take turns under an advisory lock; `serve` migrates at start too.")

    @Option(help: ArgumentHelp(StoreLocation.help, valueName: "path-or-url")) var database: String?

    func run() async throws {
        let database = StoreLocation.resolve(self.database)
        let store = try await StoreLocation.open(database)
        print("\(StoreLocation.display(database)): migrated; integrity \(try await store.integrityCheck())")
    }
}
