import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ReplylinePostgres
import ReplylineSQLite
import ReplylineServer
import ReplylineStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server: provider webhooks, the JSON API and the outbox.",
        discussion: """
            Secrets come from the environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WEBHOOK_SHARED_KEY, \
            REPLYLINE_API_KEY (REPLYLINE_API_KEY_<ID> for the other businesses of a --rules folder), \
            REPLYLINE_METRICS_TOKEN. Without TWILIO_AUTH_TOKEN, webhooks are accepted unsigned (local development only).
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: ArgumentHelp("\(StoreLocation.help) A SQLite file is created if missing.", valueName: "path-or-url"))
    var database: String?
    @Option(help: "A rules file, or a folder of them (one business each, named after its file).") var rules = "Rules/default.yml"
    @Option(
        name: .customLong("public-url"),
        help: "The base URL the provider calls, e.g. https://sms.example.com; signatures are checked against it.")
    var publicURL: String?
    @Option(help: "A YAML file describing several businesses, their numbers and API key variables.")
    var config: String?
    @Option(help: "With --rules: the plan whose monthly limit applies (\(Plan.names.joined(separator: ", "))); none by default.")
    var plan: String?
    @Option(name: .customLong("twilio-api-url"), help: "Twilio's REST API base URL (a test double's, say).")
    var twilioAPIURL = "https://api.twilio.com"
    @Option(name: .customLong("request-timeout"), help: "Seconds a client has to send a whole request before its connection is closed.")
    var requestTimeout = 10.0
    @Option(name: .customLong("api-rate-limit"), help: "API requests per second each client may make (bursts of 5 times that).")
    var apiRateLimit = 20.0
    @Option(
        name: .customLong("metrics-port"),
        help: "Serve /metrics on this port of --metrics-host instead of the main port (for a Prometheus kept off the public side).")
    var metricsPort: Int?
    @Option(name: .customLong("metrics-host"), help: "Address of the --metrics-port listener.") var metricsHost = "127.0.0.1"
    @Option(
        name: .customLong("instance-id"),
        help: ArgumentHelp(
            "Names this instance's outbox claims on a shared database: the same across its restarts, different from every other instance's (default: host name and port)."
        ))
    var instanceID: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "replyline")
        let database = StoreLocation.resolve(self.database)
        guard requestTimeout > 0, apiRateLimit > 0 else { throw ValidationError("--request-timeout and --api-rate-limit must be positive") }
        guard config == nil || plan == nil else {
            throw ValidationError("--plan applies to --rules businesses; with --config, give each business its `plan:` there")
        }
        func secret(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.databasePath = database
        configuration.instanceID = instanceID
        configuration.publicURL = try publicURL.map(Deployment.publicURL)
        configuration.twilioAuthToken = secret("TWILIO_AUTH_TOKEN")
        configuration.twilioSharedKey = secret("TWILIO_WEBHOOK_SHARED_KEY")
        configuration.twilioAccountSID = secret("TWILIO_ACCOUNT_SID")
        configuration.twilioAPIBaseURL = twilioAPIURL
        configuration.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
        configuration.apiRateLimit = RateLimit(perSecond: apiRateLimit, burst: apiRateLimit * 5)
        configuration.metricsToken = secret("REPLYLINE_METRICS_TOKEN")
        configuration.metricsAddress = metricsPort.map { (metricsHost, $0) }
        var businesses =
            if let config { try Deployment.businesses(configPath: config, environment: environment) } else {
                try Deployment.businesses(rulesPath: rules, environment: environment, plan: plan)
            }
        for index in businesses.indices where businesses[index].apiKey == nil {
            let key = "rl_dev_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            businesses[index].apiKey = key
            let variable = config == nil ? Deployment.apiKeyVariable(forBusiness: businesses[index].id) : "its api_key_env"
            // A secret goes to the terminal on stdout, never into a log line.
            logger.warning(
                "business \(businesses[index].id) has no API key (\(variable) is not set); this run's key is printed on standard output")
            FileHandle.standardOutput.write(Data("API key for this run (business \(businesses[index].id)): \(key)\n".utf8))
        }
        configuration.businesses = businesses
        if configuration.twilioAuthToken == nil {
            logger.warning(
                "TWILIO_AUTH_TOKEN is not set: webhooks are accepted WITHOUT signature checks. Use this for local development only.")
        }
        // Said before anything else is opened: one clear line, not a bind error after
        // "listening on".
        for (name, (address, port)) in [("--port", (host, port))] + (configuration.metricsAddress.map { [("--metrics-port", $0)] } ?? []) {
            try await Deployment.checkAvailable(host: address, port: port, option: name)
        }
        // A damaged file is found before anything is acknowledged on top of it.
        let store = try await StoreLocation.open(database)
        let integrity = try await store.integrityCheck()
        guard integrity == "ok" else {
            throw ConfigurationError(
                PostgresLocation.isURL(database)
                    ? "\(StoreLocation.display(database)): \(integrity)"
                    : "\(database) failed PRAGMA integrity_check (\(integrity.prefix(200))). Restore the latest `replyline backup`, or recover it with sqlite3's .recover, before serving."
            )
        }
        logger.info("database \(StoreLocation.display(database)): integrity ok")
        let app = buildApplication(try AppServices(configuration, store: store, logger: logger))
        for business in configuration.businesses {
            let numbers = business.receivingNumbers
            let receives =
                !numbers.isEmpty
                ? numbers.joined(separator: ", ")
                : !business.messagingServiceIDs.isEmpty
                    ? "Messaging Services only"
                    : configuration.businesses.count == 1 ? "any" : "any number no other business lists"
            logger.info(
                "business \(business.id): \(business.rules.business.name), rules \(business.rules.source), numbers \(receives), \(Plan.summary(business.plan))"
            )
        }
        let outbound =
            configuration.twilioAccountSID != nil && configuration.twilioAuthToken != nil
            ? "Twilio REST API at \(twilioAPIURL)"
            : "console (prints messages instead of sending; set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to send)"
        logger.info("outbound via \(outbound)")
        logger.info(
            "webhooks are signed for \(configuration.effectivePublicURL)/webhooks/twilio/messages (set --public-url to the URL Twilio calls)"
        )
        if let (address, port) = configuration.metricsAddress {
            logger.info(
                "metrics on http://\(address):\(port)/metrics\(configuration.metricsToken == nil ? "" : " (bearer token required)")")
        } else if configuration.metricsToken == nil {
            logger.notice("/metrics is open on the main port; set REPLYLINE_METRICS_TOKEN or --metrics-port to keep it private")
        }
        do {
            try await app.runService()
        } catch  where Deployment.isAddressInUse(error) {
            throw ConfigurationError("port \(port) is in use; choose another with --port")
        }
    }
}
