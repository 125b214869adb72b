import Foundation
import ReplylineCore
import ReplylineProviders
import ReplylineProvidersHTTP
import ReplylineStore

/// Sends outbox messages through Twilio's REST API and reads its answer into a `SendResult`.
public struct TwilioSender: MessageSender {
    public let name = TwilioProvider.name
    let client: TwilioRESTClient
    /// Where Twilio posts delivery status; each message's id rides along in the query so a
    /// callback that beats the REST response still finds its message.
    let statusCallbackBase: String?

    /// - Parameter publicURL: the server's public base URL; nil sends no StatusCallback.
    public init(client: TwilioRESTClient, publicURL: String?) {
        self.client = client
        self.statusCallbackBase = publicURL.map { $0 + "/webhooks/\(TwilioProvider.name)/status" }
    }

    public func send(_ message: StoredMessage) async -> SendResult {
        let request = TwilioRESTClient.Message(
            to: message.toNumber, from: message.fromNumber, messagingServiceSID: nil, body: message.body,
            mediaURLs: message.media.map(\.url), statusCallback: statusCallbackBase.map { "\($0)?m=\(message.id?.rawValue ?? 0)" })
        return Self.result(await client.send(request))
    }

    static func result(_ outcome: TwilioSendOutcome) -> SendResult {
        switch outcome {
        case .accepted(let sid, let status):
            return .sent(providerMessageID: sid, status: DeliveryStatus(rawValue: status))
        case .retryable(let reason, let after):
            return .retry(after: after ?? 0, reason: reason)
        case .indeterminate(let reason):
            return .unknown(reason: reason)
        case .rejected(let code, let message):
            return .rejected(code: code, message: message, error: code.map(TwilioErrorCode.error))
        }
    }
}
