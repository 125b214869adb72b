import Foundation
import HTTPTypes
import NIOCore
import ReplylineCore
import ReplylineProviders
import ReplylineServer
import ReplylineStore
import Synchronization

/// A provider that exists only in tests, shaped like the ones that reply by REST (Plivo,
/// Telnyx, Vonage): form webhooks carrying `id`, `from`, `to` and `text`, authenticated by
/// a shared token header, and replies sent through the outbox.
struct RelayProvider: MessagingProvider {
    static let token = "relay-token"

    var name: String { "relay" }
    var maxBodyBytes: Int { 8 * 1024 }
    var replyMode: ReplyMode { .outbox }
    var accountID: String? { nil }

    func accepts(contentType: String) -> Bool { FormBody.isContentType(contentType) }

    func decode(_ body: [UInt8]) throws(WebhookError) -> FormBody { try FormBody.decode(body) }

    func verify(_ request: WebhookRequest, payload: FormBody, url: String) throws(WebhookError) {
        guard let token = request.headerValues("x-relay-token").first else { throw .missingSignature }
        guard token == Self.token else { throw .badSignature }
    }

    func inboundMessage(_ form: FormBody) throws(WebhookError) -> InboundMessage {
        func required(_ name: String) throws(WebhookError) -> String {
            guard let value = form[name], !value.isEmpty else { throw .missingParameter(name) }
            return value
        }
        return InboundMessage(
            provider: name, providerMessageID: try required("id"), accountID: nil, messagingServiceID: nil, from: try required("from"),
            to: try required("to"), body: form["text"] ?? "", media: [], providerOptOut: nil, parameters: form.pairs)
    }

    func statusReport(_ form: FormBody, request: WebhookRequest) throws(WebhookError) -> StatusReport {
        guard let id = form["id"] else { throw .missingParameter("id") }
        guard let status = form["status"].flatMap(DeliveryStatus.init(rawValue:)) else { throw .missingParameter("status") }
        return StatusReport(
            providerMessageID: id, status: status, errorCode: form["error"], errorMessage: form["error"].map { error($0).meaning },
            accountID: nil, from: form["from"], messageIDHint: request.messageIDHint)
    }

    func error(_ code: String) -> ProviderError {
        code == "stopped"
            ? ProviderError(meaning: "the recipient unsubscribed at the relay", consequence: .optedOut)
            : ProviderError(meaning: "relay error \(code)")
    }

    /// A webhook as the relay would post it.
    static func webhook(_ fields: [(name: String, value: String)], token: String = token) -> (HTTPFields, ByteBuffer) {
        let body = fields.map { "\(TestServer.formEscape($0.name))=\(TestServer.formEscape($0.value))" }.joined(separator: "&")
        return ([.contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Relay-Token")!: token], ByteBuffer(string: body))
    }
}

/// The relay's sender: records each message and names it `RLout<id>`.
final class RelaySender: MessageSender {
    let name = "relay"
    let sent = Mutex<[StoredMessage]>([])

    var bodies: [String] { sent.withLock { $0.map(\.body) } }

    func send(_ message: StoredMessage) async -> SendResult {
        sent.withLock { $0.append(message) }
        return .sent(providerMessageID: "RLout\(message.id?.rawValue ?? 0)", status: .queued)
    }
}

extension TestServer {
    /// The clinic on the relay, beside Twilio; the relay's messages go through `sender`.
    static func onRelay(_ sender: RelaySender, log: LogCapture? = nil) async throws -> TestServer {
        try await TestServer(
            configure: { configuration in
                configuration.businesses[0].provider = "relay"
                // A second business, on Twilio, beside it.
                let salon = try RulesLoader.load(contentsOf: Repository.rules.appendingPathComponent("salon.yml"))
                configuration.businesses.append(
                    BusinessConfiguration(id: "salon", rules: salon, numbers: [TestServer.salonNumber], apiKey: "key-salon"))
            },
            providers: { configuration in
                var registry = ProviderRegistry.standard(configuration)
                registry.register(RelayProvider(), sender: sender)
                return registry
            }, sender: nil)
    }
}
