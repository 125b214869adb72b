import ArgumentParser
import Foundation
import ReplylineSQLite
import ReplylineServer
import ReplylineStore

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export data as CSV on stdout.", subcommands: [Consent.self])

    struct Consent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The consent ledger: every opt-out and opt-in with its source, message id and time.")

        @Option(help: "SQLite file.") var database = "./replyline.sqlite"
        @Option(help: "Only this business id (all when omitted).") var business: String?

        func run() async throws {
            guard FileManager.default.fileExists(atPath: database) else {
                throw ValidationError("no database at \(database); pass --database PATH")
            }
            let db = try AppDatabase(path: database)
            if let business {
                let known = try await db.businessIDs()
                guard known.contains(business) else {
                    throw ValidationError(
                        known.isEmpty
                            ? "no business has contacts in \(database) yet, so there is no ledger for \(business)"
                            : "no business \(business) in \(database); known: \(known.joined(separator: ", "))")
                }
            }
            let events = try await db.consentLedger(businessID: business)
            print(ConsentCSV.render(events), terminator: "")
        }
    }
}
