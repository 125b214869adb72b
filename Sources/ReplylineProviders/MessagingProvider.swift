import ReplylineCore

/// An SMS provider as the webhook pipeline sees it: how its requests are read, verified
/// and answered. Pure: it never touches the network, the store or the HTTP server, so
/// each provider is tested with recorded requests alone.
///
/// The pipeline checks, in this order (the order of cost): the content type, the body
/// size, `decode`, `verify` (before anything touches the database), then reads the
/// message or status from the decoded payload.
public protocol MessagingProvider: Sendable {
    /// The body once decoded, read by both webhooks (Twilio: its form pairs).
    associatedtype Payload

    /// Names the provider in webhook paths (`/webhooks/{name}/messages`), in stored
    /// messages, in a business's configuration (`provider:`) and in log lines.
    var name: String { get }
    /// The largest body read; a longer one is refused with 413 before it is decoded.
    var maxBodyBytes: Int { get }
    /// How replies reach the customer.
    var replyMode: ReplyMode { get }
    /// The account the deployment's credentials belong to, for businesses that name none
    /// of their own: status callbacks naming another account are ignored.
    var accountID: String? { get }

    /// Whether the provider posts webhooks in this content type (the header's value).
    func accepts(contentType: String) -> Bool
    func decode(_ body: [UInt8]) throws(WebhookError) -> Payload
    /// Throws unless `request` is signed by the provider for `url` (the public base URL
    /// followed by the request target).
    func verify(_ request: WebhookRequest, payload: Payload, url: String) throws(WebhookError)
    /// The inbound-message webhook's message; numbers are normalized by the pipeline.
    func inboundMessage(_ payload: Payload) throws(WebhookError) -> InboundMessage
    /// The status-callback webhook's report.
    func statusReport(_ payload: Payload, request: WebhookRequest) throws(WebhookError) -> StatusReport
    /// What one of the provider's error codes means and what Replyline does about it.
    func error(_ code: String) -> ProviderError
    /// The webhook answer carrying `replies`, for a provider whose `replyMode` is `.inline`.
    func renderReplies(_ replies: [String]) -> String
}

extension MessagingProvider {
    /// Providers that reply through the outbox render nothing.
    public func renderReplies(_ replies: [String]) -> String { "" }
}

/// How a provider's replies reach the customer.
public enum ReplyMode: Sendable, Equatable {
    /// In the webhook's answer, in this content type (Twilio's TwiML).
    case inline(contentType: String)
    /// Through the outbox after the inbound message is committed; the webhook is answered
    /// with an empty 200.
    case outbox
}

/// A delivery-status callback, read by its provider: what the pipeline needs to apply it
/// and to check it belongs to the business its message belongs to.
public struct StatusReport: Sendable, Equatable {
    public var providerMessageID: String
    public var status: DeliveryStatus
    public var errorCode: String?
    /// The provider's own words, else the meaning from its error-code table.
    public var errorMessage: String?
    /// The account the callback names.
    public var accountID: String?
    /// The number the message was sent from, as the provider wrote it.
    public var from: String?
    /// Our message id, when the callback URL carried it (see `WebhookRequest.messageIDHint`).
    public var messageIDHint: Int64?

    public init(
        providerMessageID: String, status: DeliveryStatus, errorCode: String?, errorMessage: String?, accountID: String?, from: String?,
        messageIDHint: Int64?
    ) {
        self.providerMessageID = providerMessageID
        self.status = status
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.accountID = accountID
        self.from = from
        self.messageIDHint = messageIDHint
    }
}

/// One of a provider's error codes: what it means, for reports and the thread view, and
/// what a send refused with it does.
public struct ProviderError: Sendable, Equatable {
    public enum Consequence: Sendable, Equatable {
        /// The send failed; nothing else follows.
        case failed
        /// The contact unsubscribed at the provider: an opt-out is recorded.
        case optedOut
        /// The number cannot receive texts: it is marked, and later sends are blocked.
        case invalidNumber
    }

    public var meaning: String
    public var consequence: Consequence
    /// What staff can do about it, in plain words; nil when there is nothing to add.
    public var advice: String?

    public init(meaning: String, consequence: Consequence = .failed, advice: String? = nil) {
        self.meaning = meaning
        self.consequence = consequence
        self.advice = advice
    }
}
