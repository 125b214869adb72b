import Foundation
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// Everything `buildApplication` needs, as a plain value: the CLI fills it from flags and
/// the environment, tests fill it directly.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// A SQLite file path.
    public var databasePath = "./replyline.sqlite"
    public var businesses: [BusinessConfiguration] = []
    /// The base URL the provider calls (`https://sms.example.com`); signatures are checked
    /// against it plus the request path and query. Defaults to `http://host:port`.
    public var publicURL: String?
    public var twilioAuthToken: String?
    public var twilioSharedKey: String?
    /// With the auth token, sends through Twilio's REST API; without, the console provider prints.
    public var twilioAccountSID: String?
    public var twilioAPIBaseURL = "https://api.twilio.com"
    /// The clock; tests fix it.
    public var now: @Sendable () -> Date = { Date() }
    /// How long web inbox sessions last without a request, and at most.
    public var sessionLifetime = SessionLifetime.standard
    /// Makes ids for new appointments; tests make them predictable.
    public var makeID: @Sendable (String) -> String = { prefix in
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
    }
    /// How often the outbox worker looks for due messages.
    public var outboxInterval: Duration = .seconds(1)
    /// Runs the outbox worker as a service of the application.
    public var runsOutboxWorker = true
    /// `/api/v1` requests each client may make: a sustained rate per second and a burst.
    /// A client is its business once its API key checks out, else its IP address.
    public var apiRateLimit = RateLimit(perSecond: 20, burst: 100)
    /// A client must send a whole request (head and body) within this time of the
    /// connection opening or the previous response; slower connections are closed.
    public var requestTimeout: Duration = .seconds(10)
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    public var metricsToken: String?
    /// When set, `/metrics` is served on this address alone, not on the main port.
    public var metricsAddress: (host: String, port: Int)?
    /// Names this instance's outbox claims. It must stay the same across restarts and
    /// differ between instances sharing a database: by default the host name and port.
    public var instanceID: String?

    public init() {}

    public var effectivePublicURL: String {
        var url = publicURL ?? "http://\(host):\(port)"
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    public var effectiveInstanceID: String { instanceID ?? "\(ProcessInfo.processInfo.hostName):\(port)" }
}

/// One business of the deployment: its rules, its numbers and its API key.
public struct BusinessConfiguration: Sendable {
    public var id: String
    public var rules: Rules
    /// Provider numbers it receives on (E.164); empty takes the rules file's list. The one
    /// business (at most) with no numbers and no services receives on every other number.
    public var numbers: [String]
    /// Twilio Messaging Services (MG...) whose inbound texts belong to this business.
    public var messagingServiceIDs: [String]
    public var apiKey: String?
    /// starter, professional, business or enterprise; usage limits follow it. Nil, the
    /// default, is no plan and no limit.
    public var plan: Plan?
    /// The account at its provider (Twilio: AC…, a subaccount's when it has one) its
    /// numbers belong to: a status callback naming another account is ignored. Nil: the
    /// deployment's (`TWILIO_ACCOUNT_SID`).
    public var accountSID: String?
    /// The provider it sends through and whose webhooks it expects, by name.
    public var provider: String

    public init(
        id: String, rules: Rules, numbers: [String] = [], messagingServiceIDs: [String] = [], apiKey: String? = nil,
        plan: Plan? = nil, accountSID: String? = nil, provider: String = TwilioProvider.name
    ) {
        self.id = id
        self.rules = rules
        self.numbers = numbers
        self.messagingServiceIDs = messagingServiceIDs
        self.apiKey = apiKey
        self.plan = plan
        self.accountSID = accountSID
        self.provider = provider
    }

    /// The provider numbers it receives on: its own list, else its rules file's.
    public var receivingNumbers: [String] { numbers.isEmpty ? rules.business.numbers : numbers }
}
