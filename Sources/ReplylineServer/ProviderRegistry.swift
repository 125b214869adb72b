import Foundation
import Logging
import ReplylineProviders
import ReplylineProvidersHTTP
import ReplylineStore

/// The providers a deployment speaks through: for each, its webhooks (served at
/// `/webhooks/{name}/messages` and `/webhooks/{name}/status`), its sender, and its
/// error-code table. A business names its provider (`twilio` by default).
public struct ProviderRegistry: Sendable {
    /// One registered provider.
    public struct Entry: Sendable {
        public let name: String
        public let sender: any MessageSender
        let errors: @Sendable (String) -> ProviderError
        /// Builds the provider's pipeline once the app's database and directory exist.
        /// Made inside the generic `register`, so the pipeline is specialized for the
        /// provider's concrete type and the request path makes no existential calls.
        let makeWebhooks: @Sendable (WebhookEnvironment) -> any WebhookHandling
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// Adds `provider`, sending through `sender`; a provider of the same name is replaced.
    public mutating func register<Provider: MessagingProvider>(_ provider: Provider, sender: any MessageSender) {
        let entry = Entry(
            name: provider.name, sender: sender, errors: { provider.error($0) },
            makeWebhooks: { environment in
                WebhookPipeline(provider: provider, environment: environment)
            })
        entries.removeAll { $0.name == entry.name }
        entries.append(entry)
    }

    public subscript(name: String) -> Entry? { entries.first { $0.name == name } }

    public var names: [String] { entries.map(\.name) }

    /// What `code` means at `provider`, for reports; a provider not registered says so.
    public func meaning(of code: String, provider: String) -> String {
        self[provider]?.errors(code).meaning ?? "error \(code) of provider \(provider)"
    }

    /// Twilio, configured from `TWILIO_*`: its REST API sends when the account SID and auth
    /// token are both set, else the console prints.
    public static func standard(_ configuration: ServerConfiguration) -> ProviderRegistry {
        var registry = ProviderRegistry()
        let sender: any MessageSender =
            configuration.twilioAccountSID.flatMap { account in
                configuration.twilioAuthToken.map { token in
                    TwilioSender(
                        client: TwilioRESTClient(baseURL: configuration.twilioAPIBaseURL, accountSID: account, authToken: token),
                        publicURL: configuration.effectivePublicURL)
                }
            } ?? ConsoleSender()
        registry.register(
            TwilioProvider(
                authToken: configuration.twilioAuthToken, sharedKey: configuration.twilioSharedKey,
                accountID: configuration.twilioAccountSID),
            sender: sender)
        return registry
    }
}

/// What a webhook pipeline needs from the running app.
struct WebhookEnvironment: Sendable {
    let store: any ConversationStore
    let directory: BusinessDirectory
    let publicURL: String
    let now: @Sendable () -> Date
    let logger: Logger
    let metrics: Metrics
}
