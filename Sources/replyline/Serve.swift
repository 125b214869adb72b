import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ReplylineServer
import ReplylineStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server: provider webhooks, the JSON API and the outbox.",
        discussion: """
            Secrets come from the environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
            TWILIO_WEBHOOK_SHARED_KEY, REPLYLINE_API_KEY. Without TWILIO_AUTH_TOKEN, webhooks are
            accepted unsigned (local development only).
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "SQLite file (created if missing).") var database = "./replyline.sqlite"
    @Option(help: "A rules file, or a folder of them (one business each).") var rules = "Rules/default.yml"
    @Option(name: .customLong("public-url"), help: "The base URL the provider calls; signatures are checked against it.")
    var publicURL: String?
    @Option(help: "A YAML file describing several businesses, their numbers and API key variables.")
    var config: String?
    @Option(name: .customLong("twilio-api-url"), help: "Twilio's REST API base URL (a test double's, say).")
    var twilioAPIURL = "https://api.twilio.com"
    @Option(name: .customLong("request-timeout"), help: "Seconds a client has to send a whole request before its connection is closed.")
    var requestTimeout = 10.0
    @Option(name: .customLong("api-rate-limit"), help: "API requests per second each client may make (bursts of 5 times that).")
    var apiRateLimit = 20.0

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "replyline")
        guard !database.hasPrefix("postgres://"), !database.hasPrefix("postgresql://") else {
            throw ConfigurationError("PostgreSQL is not supported yet; use a SQLite path for --database")
        }
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.databasePath = database
        configuration.publicURL = publicURL
        configuration.twilioAuthToken = environment["TWILIO_AUTH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.twilioSharedKey = environment["TWILIO_WEBHOOK_SHARED_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.twilioAccountSID = environment["TWILIO_ACCOUNT_SID"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.twilioAPIBaseURL = twilioAPIURL
        guard requestTimeout > 0, apiRateLimit > 0 else { throw ValidationError("--request-timeout and --api-rate-limit must be positive") }
        configuration.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
        configuration.apiRateLimit = RateLimit(perSecond: apiRateLimit, burst: apiRateLimit * 5)
        var apiKey = environment["REPLYLINE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if config == nil, apiKey == nil {
            apiKey = "rl_dev_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            // A secret goes to the terminal on stdout, never into a log line.
            logger.warning("REPLYLINE_API_KEY is not set; this run's API key is printed on standard output")
            FileHandle.standardOutput.write(Data("API key for this run: \(apiKey!)\n".utf8))
        }
        configuration.businesses =
            if let config { try Deployment.businesses(configPath: config, environment: environment) } else {
                try Deployment.businesses(rulesPath: rules, defaultAPIKey: apiKey)
            }
        if configuration.twilioAuthToken == nil {
            logger.warning(
                "TWILIO_AUTH_TOKEN is not set: webhooks are accepted WITHOUT signature checks. Use this for local development only.")
        }
        // A damaged file is found before anything is acknowledged on top of it.
        let store = try AppDatabase(path: database)
        let integrity = try await store.integrityCheck()
        guard integrity == "ok" else {
            throw ConfigurationError(
                "\(database) failed PRAGMA integrity_check (\(integrity.prefix(200))). Restore the latest `replyline backup`, or recover it with sqlite3's .recover, before serving."
            )
        }
        logger.info("database \(database): integrity ok")
        let app = buildApplication(try Replyline(configuration, database: store, logger: logger))
        for business in configuration.businesses {
            let numbers = business.numbers.isEmpty ? business.rules.business.numbers : business.numbers
            logger.info(
                "business \(business.id): \(business.rules.business.name), rules \(business.rules.source), numbers \(numbers.isEmpty ? "any" : numbers.joined(separator: ", "))"
            )
        }
        let outbound =
            configuration.twilioAccountSID != nil && configuration.twilioAuthToken != nil
            ? "Twilio REST API at \(twilioAPIURL)"
            : "console (prints messages instead of sending; set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to send)"
        logger.info("database \(database); outbound via \(outbound)")
        logger.info("listening on http://\(host):\(port); webhooks signed for \(configuration.effectivePublicURL)/webhooks/twilio/messages")
        try await app.runService()
    }
}
