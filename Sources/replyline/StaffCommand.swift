import ArgumentParser
import Foundation
import ReplylineServer
import ReplylineStore

/// `replyline staff`: the people who sign in to the web inbox, one business each.
struct StaffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff", abstract: "Manage the staff accounts that sign in to the web inbox.",
        subcommands: [Add.self, List.self, Remove.self, ResetPassword.self])

    /// Where the accounts live, and which businesses exist (as `serve` reads them).
    struct Location: ParsableArguments {
        @Option(help: ArgumentHelp(StoreLocation.help, valueName: "path-or-url")) var database: String?
        @Option(help: "The rules file or folder `serve` uses, to check the business exists.") var rules = "Rules/default.yml"
        @Option(help: "The deployment file `serve` uses, to check the business exists.") var config: String?

        func businessIDs() throws -> [String] {
            let environment = ProcessInfo.processInfo.environment
            let businesses =
                if let config { try Deployment.businesses(configPath: config, environment: environment) } else {
                    try Deployment.businesses(rulesPath: rules, environment: environment, plan: nil)
                }
            return businesses.map(\.id)
        }

        func open() async throws -> any ConversationStore { try await StoreLocation.open(StoreLocation.resolve(database)) }
    }

    /// Reads a password from standard input (one line) and checks it.
    static func readPassword() async throws -> String {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ConfigurationError("no password on standard input; pipe it in, e.g. `printf '%s' \"$PASSWORD\" | replyline staff add …`")
        }
        if let problem = StaffPasswords.problem(with: line) { throw ConfigurationError(problem) }
        return line
    }

    static func email(_ text: String) throws -> String {
        let email = StaffAccount.normalizedEmail(text)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), email.count <= 254,
            !email.contains(where: { $0.isWhitespace || $0.isNewline })
        else { throw ValidationError("`\(text.prefix(80))` is not an email address; write it as name@example.com") }
        return email
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a staff account; the password is read from standard input (--password-stdin).")
        @OptionGroup var location: Location
        @Option(help: "The business the account belongs to.") var business: String
        @Option(help: "The email the person signs in with.") var email: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input (required: never on the command line).")
        var passwordStdin = false

        func run() async throws {
            guard passwordStdin else { throw ValidationError("pass --password-stdin and the password on standard input") }
            let email = try StaffCommand.email(email)
            let known = try location.businessIDs()
            guard known.contains(business) else {
                throw ConfigurationError("no business `\(business)`; this deployment has \(known.joined(separator: ", "))")
            }
            let password = try await StaffCommand.readPassword()
            let store = try await location.open()
            let account = StaffAccount(
                id: UUID().uuidString.lowercased(), businessID: business, email: email,
                passwordHash: try await StaffPasswords.hash(password),
                createdAt: Date())
            do {
                try await store.addStaff(account)
            } catch let error as StaffAccountError {
                throw ConfigurationError("\(error)")
            }
            print("added \(email) to business \(business); they sign in at /login")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List staff accounts, as business, email and date added.")
        @OptionGroup var location: Location
        @Option(help: "Only this business's accounts.") var business: String?

        func run() async throws {
            let accounts = try await location.open().staffAccounts(businessID: business)
            if accounts.isEmpty {
                print("no staff accounts\(business.map { " for business \($0)" } ?? ""); add one with `replyline staff add`")
            }
            for account in accounts {
                print("\(account.businessID)\t\(account.email)\t\(account.createdAt.formatted(.iso8601))")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a staff account and sign it out everywhere.")
        @OptionGroup var location: Location
        @Option(help: "The account's email.") var email: String

        func run() async throws {
            let email = try StaffCommand.email(email)
            guard try await location.open().removeStaff(email: email) else {
                throw ConfigurationError("no staff account has the email \(email); `replyline staff list` shows them")
            }
            print("removed \(email); its sessions are ended")
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password", abstract: "Set a new password (from standard input) and sign the account out everywhere.")
        @OptionGroup var location: Location
        @Option(help: "The account's email.") var email: String
        @Flag(name: .customLong("password-stdin"), help: "Read the new password from standard input (required).")
        var passwordStdin = false

        func run() async throws {
            guard passwordStdin else { throw ValidationError("pass --password-stdin and the new password on standard input") }
            let email = try StaffCommand.email(email)
            let password = try await StaffCommand.readPassword()
            let store = try await location.open()
            guard try await store.setStaffPassword(email: email, passwordHash: try await StaffPasswords.hash(password)) else {
                throw ConfigurationError("no staff account has the email \(email); `replyline staff list` shows them")
            }
            print("new password set for \(email); its sessions are ended")
        }
    }
}
