import Foundation
import ReplylinePostgres
import ReplylineSQLite
import ReplylineServer
import ReplylineStore

/// What `--database` names: a SQLite file (the default) or a PostgreSQL database by URL.
/// The command line is the one place that knows both stores.
enum StoreLocation {
    static let help =
        "A SQLite file, or a PostgreSQL database as postgres://user:password@host:port/database?sslmode=… (also REPLYLINE_DATABASE_URL)."

    /// `--database` as given, else REPLYLINE_DATABASE_URL, else the SQLite default.
    static func resolve(_ option: String?) -> String {
        option ?? ProcessInfo.processInfo.environment["REPLYLINE_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "./replyline.sqlite"
    }

    /// How `database` reads in messages: a URL without its password.
    static func display(_ database: String) -> String {
        guard PostgresLocation.isURL(database) else { return database }
        return (try? PostgresLocation(url: database).description) ?? "the PostgreSQL URL given"
    }

    /// Opens the store and applies any missing migration. A server that cannot be reached is
    /// one line naming its host, port and the cause; the password is never shown.
    /// - Parameter option: the option that named `database`, for the messages.
    static func open(
        _ database: String, mustExist: Bool = false, option: String = "--database"
    ) async throws -> any ConversationStore & StoreCopying {
        guard PostgresLocation.isURL(database) else {
            if mustExist, !FileManager.default.fileExists(atPath: database) {
                throw ConfigurationError("no database at \(database); pass the live one with \(option)")
            }
            return try AppDatabase(path: database)
        }
        let location: PostgresLocation
        do { location = try PostgresLocation(url: database) } catch { throw ConfigurationError("\(error)") }
        do {
            return try await PostgresStore(location: location)
        } catch let error as StoreUnavailable {
            throw ConfigurationError("\(error.reason); check that the server runs and that \(option) names it (\(location))")
        } catch {
            throw ConfigurationError("PostgreSQL at \(location.host):\(location.port) refused \(location): \(PostgresStore.explain(error))")
        }
    }
}
