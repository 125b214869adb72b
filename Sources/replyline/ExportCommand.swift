import ArgumentParser
import Foundation
import ReplylineServer
import ReplylineStore

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export data as CSV on stdout.", subcommands: [Consent.self])

    struct Consent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The consent ledger: every opt-out and opt-in with its source, message id and time.")

        @Option(help: ArgumentHelp(StoreLocation.help, valueName: "path-or-url")) var database: String?
        @Option(help: "Only this business id (all when omitted).") var business: String?

        func run() async throws {
            let database = StoreLocation.resolve(self.database)
            let db = try await StoreLocation.open(database, mustExist: true)
            if let business {
                let known = try await db.businessIDs()
                guard known.contains(business) else {
                    throw ValidationError(
                        known.isEmpty
                            ? "no business has contacts in \(StoreLocation.display(database)) yet, so there is no ledger for \(business)"
                            : "no business \(business) in \(StoreLocation.display(database)); known: \(known.joined(separator: ", "))")
                }
            }
            let events = try await db.consentLedger(businessID: business)
            print(ConsentCSV.render(events), terminator: "")
        }
    }
}
