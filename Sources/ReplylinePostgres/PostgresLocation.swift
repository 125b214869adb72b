import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL store lives: `postgres://user:password@host:port/database?sslmode=…`,
/// read the way libpq reads such a URL. Its description never shows the password.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    var password: String?
    public var database: String
    public var sslMode: SSLMode

    /// libpq's `sslmode` values (`allow` is read as `prefer`).
    public enum SSLMode: String, Sendable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Reads `text`; the error says what is wrong with it and how a URL looks.
    public init(url text: String) throws(PostgresLocationError) {
        guard Self.isURL(text), let url = URLComponents(string: text) else {
            throw PostgresLocationError("expected postgres://user:password@host:port/database, got something else")
        }
        guard let host = url.host, !host.isEmpty else {
            throw PostgresLocationError("the URL names no host; write postgres://user:password@HOST:5432/database")
        }
        guard let user = url.user, !user.isEmpty else {
            throw PostgresLocationError("the URL names no user; write postgres://USER:password@\(host)/database")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresLocationError("the URL names no database; write postgres://\(user)@\(host)/DATABASE")
        }
        self.host = host
        self.port = url.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        self.password = url.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = .prefer
        for item in url.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                let value = item.value ?? ""
                guard let mode = value == "allow" ? .prefer : SSLMode(rawValue: value) else {
                    throw PostgresLocationError(
                        "sslmode=\(value) is not one of disable, allow, prefer, require, verify-ca, verify-full")
                }
                sslMode = mode
            case "application_name", "connect_timeout":
                continue
            default:
                throw PostgresLocationError("the URL parameter `\(item.name)` is not supported; sslmode is")
            }
        }
    }

    /// `postgres://user@host:port/database`, with the password left out.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// The TLS `sslmode` asks for: none, or a configuration and whether it is required.
    var tls: (configuration: TLSConfiguration, required: Bool)? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable:
            return nil
        case .prefer, .require:
            // libpq's prefer and require encrypt without checking the certificate.
            configuration.certificateVerification = .none
            return (configuration, sslMode == .require)
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return (configuration, true)
        case .verifyFull:
            return (configuration, true)
        }
    }

    func startupParameters(schema: String?) -> [(String, String)] {
        [("application_name", "replyline")] + (schema.map { [("search_path", $0)] } ?? [])
    }

    /// The pool's configuration: TLS as `sslmode` asks, at most `connections` connections.
    func clientConfiguration(connections: Int, schema: String?) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            self.tls.map { $0.required ? .require($0.configuration) : .prefer($0.configuration) } ?? .disable
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = connections
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = startupParameters(schema: schema)
        return configuration
    }

    /// One connection's configuration, as the pool's.
    func connectionConfiguration(schema: String?) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            try self.tls.map {
                let context = try NIOSSLContext(configuration: $0.configuration)
                return $0.required ? .require(context) : .prefer(context)
            } ?? .disable
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = startupParameters(schema: schema)
        return configuration
    }
}

public struct PostgresLocationError: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = "the database URL is not usable: \(description)"
    }
}
