import Foundation
import Logging
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// A provider's two webhooks, as the routes and `replyline replay` call them.
public protocol WebhookHandling: Sendable {
    /// The largest body the provider's webhooks may have; the routes read no more.
    var maxBodyBytes: Int { get }
    func inbound(_ request: WebhookRequest) async -> WebhookResponse
    func status(_ request: WebhookRequest) async -> WebhookResponse
}

/// The webhook pipeline every provider shares: parse and verify through the provider,
/// find the business by number, record exactly once, answer inline or leave the replies
/// to the outbox. Generic over the provider, so its calls are direct on the hot path.
///
/// The order of checks is the order of cost: content type and size, decoding, the
/// signature (before anything touches the database), parameters, then the business.
struct WebhookPipeline<Provider: MessagingProvider>: WebhookHandling {
    let provider: Provider
    let environment: WebhookEnvironment
    /// The account each business's status callbacks must name, by business id: its own
    /// `account_sid`, else the provider's deployment account. A business with neither
    /// is absent, and its callbacks are checked on their number alone: the only other
    /// account to go by would be the account of its inbound texts, which arrive over
    /// the same signed channel as the callbacks (so it proves nothing more) and would
    /// silently drop every callback the day the number moves to a subaccount.
    let expectedAccounts: [String: String]
    /// The business that sends from each number (its provider numbers and its sending
    /// number), for callbacks that arrive before their message is known.
    let sendersByNumber: [String: String]
    /// The log lines, made once: each names the provider.
    let lines: LogLines

    init(provider: Provider, environment: WebhookEnvironment) {
        self.provider = provider
        self.environment = environment
        var accounts: [String: String] = [:]
        var senders: [String: String] = [:]
        for business in environment.directory.businesses {
            if business.provider == provider.name, let account = business.accountSID ?? provider.accountID {
                accounts[business.id] = account
            }
            for number in business.numbers.union([business.sendingNumber]) { senders[number] = business.id }
        }
        self.expectedAccounts = accounts
        self.sendersByNumber = senders
        self.lines = LogLines(provider: provider.name)
    }

    var maxBodyBytes: Int { provider.maxBodyBytes }

    func inbound(_ request: WebhookRequest) async -> WebhookResponse {
        let started = ContinuousClock.now
        defer { environment.metrics.webhookDuration(ContinuousClock.now - started) }
        do {
            let payload = try verifiedPayload(request)
            var message = try provider.inboundMessage(payload)
            message.to = try Self.routingNumber(message.to)
            guard let business = environment.directory.business(receivingOn: message.to, messagingServiceID: message.messagingServiceID)
            else {
                throw WebhookError.unknownNumber(message.to)
            }
            // Its replies and later texts go through its own provider, not this one.
            guard business.provider == provider.name else { throw WebhookError.otherProvider(message.to, business.provider) }
            message.from = try Self.contactNumber(message.from, country: business.rules.business.country)
            if !message.droppedMedia.isEmpty {
                environment.logger.notice(
                    lines.mediaDropped,
                    metadata: [
                        "sid": "\(message.providerMessageID)", "business": "\(business.id)",
                        "parameters": "\(message.droppedMedia.joined(separator: ","))",
                    ])
            }
            let now = environment.now()
            let engine = business.engine
            let text = message.text
            let render: (@Sendable (Decision) -> String)?
            let contentType: String
            switch provider.replyMode {
            case .inline(let type):
                let provider = self.provider
                render = { decision in provider.renderReplies(decision.replies) }
                contentType = type
            case .outbox:
                render = nil
                contentType = Self.plainText
            }
            let outcome = try await environment.store.recordInbound(
                message, businessID: business.id, now: now, decide: { engine.decide(text, contact: $0, now: now) }, render: render)
            let intent = outcome.decision?.intent.description ?? ""
            environment.metrics.inbound(intent: intent, duplicate: outcome.isDuplicate)
            environment.logger.info(
                lines.inbound,
                metadata: [
                    "sid": "\(message.providerMessageID)", "business": "\(business.id)", "message": "\(outcome.messageID)",
                    "outcome": "\(outcome.isDuplicate ? "duplicate" : intent)",
                ])
            environment.logger.trace(lines.inboundBody, metadata: ["sid": "\(message.providerMessageID)", "body": "\(message.body)"])
            return WebhookResponse(status: 200, contentType: contentType, body: outcome.reply)
        } catch {
            return refusal(error, webhook: "inbound message")
        }
    }

    /// The number a text was sent to, in E.164, found before its business is known and so
    /// without a country: Twilio writes it in E.164 already, other providers as digits
    /// starting with the country code (a national number would need a country, and every
    /// business's numbers are configured in E.164 anyway). A short code (only digits, too
    /// few for a phone number) is kept as sent: a business may receive on one through its
    /// Messaging Service. Anything else is refused as malformed.
    static func routingNumber(_ to: String) throws(WebhookError) -> String {
        if let number = PhoneNumber(withCountryCode: to) { return number.e164 }
        if (3...8).contains(to.utf8.count), to.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) { return to }
        throw .invalidParameter("To", "`\(to)` is not a phone number; expected E.164 such as +15551234567")
    }

    /// The customer's number in E.164, as the API and the inbox write it: Twilio sends
    /// E.164 (returned as it is, without allocating), other providers may send a national
    /// number, read in the business's `country`.
    static func contactNumber(_ from: String, country: String) throws(WebhookError) -> String {
        guard let number = PhoneNumber(from, defaultCountry: country) else {
            throw .invalidParameter(
                "From", "`\(from)` is not a phone number; expected E.164 such as +15551234567 or a national number of \(country)")
        }
        return number.e164
    }

    static var plainText: String { "text/plain; charset=utf-8" }

    /// The answer to a webhook that failed: its refusal with the reason, or a 500 (nothing
    /// was committed, so the provider's retry is safe).
    func refusal(_ error: any Error, webhook: String) -> WebhookResponse {
        if let error = error as? WebhookError {
            environment.metrics.webhookRefused(status: error.httpStatus)
            environment.logger.notice(
                "\(provider.name) \(webhook) refused", metadata: ["status": "\(error.httpStatus)", "reason": "\(error)"])
            return WebhookResponse(status: error.httpStatus, contentType: Self.plainText, body: error.description + "\n")
        }
        if let error = error as? StoreUnavailable {
            environment.metrics.webhookRefused(status: 503)
            environment.logger.error("\(provider.name) \(webhook) not stored", metadata: ["reason": "\(error.reason)"])
            return WebhookResponse(
                status: 503, contentType: Self.plainText,
                body: "\(error) The \(webhook) was not acknowledged; the provider may retry.\n",
                retryAfter: StoreUnavailable.retryAfterSeconds)
        }
        environment.logger.error("\(provider.name) \(webhook) failed to commit", metadata: ["error": "\(error)"])
        return WebhookResponse(
            status: 500, contentType: Self.plainText,
            body: "The \(webhook) could not be stored and was not acknowledged; the provider may retry.\n")
    }

    /// The status callback: signed like inbound messages; the status only moves forward,
    /// every callback is kept in the message's history, and one for an id not yet known is
    /// held until the id appears. Answered 204 once committed.
    ///
    /// A callback must belong to the business its message belongs to: its `from` (our
    /// sending number on a status callback) must be the message's, and its account the
    /// business's expected account (see `expectedAccounts`). One that does not is ignored
    /// with a warning and still answered 204, so the provider stops retrying.
    func status(_ request: WebhookRequest) async -> WebhookResponse {
        do {
            let report = try provider.statusReport(try verifiedPayload(request), request: request)
            let sid = report.providerMessageID
            let status = report.status
            // A From that is no phone number (a whatsapp: address) stays as sent: it matches no message's number.
            let from = report.from.map { PhoneNumber(withCountryCode: $0)?.e164 ?? $0 }
            let sender =
                from.flatMap { sendersByNumber[$0] }
                ?? (environment.directory.businesses.count == 1 ? environment.directory.businesses[0].id : nil)
            let callback = StatusCallback(
                provider: provider.name, providerMessageID: sid, status: status, errorCode: report.errorCode,
                errorMessage: report.errorMessage, messageID: report.messageIDHint.map(MessageID.init), accountID: report.accountID,
                from: from, businessID: sender,
                optsOut: report.errorCode.map { provider.error($0).consequence == .optedOut } ?? false)
            let outcome = try await environment.store.recordStatusCallback(
                callback, now: environment.now(), expectedAccounts: expectedAccounts)
            environment.metrics.statusCallback(status: status.rawValue)
            switch outcome {
            case .applied(let current, let business):
                environment.logger.info(
                    lines.status,
                    metadata: [
                        "sid": "\(WebhookError.printable(sid))", "business": "\(business)", "reported": "\(status.rawValue)",
                        "status": "\(current.rawValue)",
                    ])
            case .held:
                environment.logger.info(
                    lines.statusHeld,
                    metadata: ["sid": "\(WebhookError.printable(sid))", "business": "\(sender ?? "")", "reported": "\(status.rawValue)"])
            case .ignored(let mismatch):
                environment.logger.warning(
                    lines.statusIgnored,
                    metadata: [
                        "sid": "\(WebhookError.printable(sid))", "business": "\(mismatch.businessID ?? "none")",
                        "reason": "\(WebhookError.printable(mismatch.description, limit: 200))",
                    ])
            }
            return WebhookResponse(status: 204, contentType: Self.plainText, body: "")
        } catch {
            return refusal(error, webhook: "status callback")
        }
    }

    /// Checks content type and size, decodes the body, and verifies the signature.
    func verifiedPayload(_ request: WebhookRequest) throws(WebhookError) -> Provider.Payload {
        let contentType = request.headerValues("content-type").first
        guard let contentType, provider.accepts(contentType: contentType) else { throw .unsupportedMediaType(contentType) }
        let limit = provider.maxBodyBytes
        guard !request.bodyExceededLimit, request.body.count <= limit else { throw .bodyTooLarge(limit: limit) }
        guard !request.bodyUnreadable else {
            throw .malformedForm("the body could not be read (a broken chunked encoding or a short body)")
        }
        let payload = try provider.decode(request.body)
        try provider.verify(request, payload: payload, url: environment.publicURL + request.target)
        return payload
    }
}

/// A provider's log lines, each starting with its name, made once per pipeline rather
/// than per request.
struct LogLines: Sendable {
    let inbound: Logger.Message
    let inboundBody: Logger.Message
    let mediaDropped: Logger.Message
    let status: Logger.Message
    let statusHeld: Logger.Message
    let statusIgnored: Logger.Message

    init(provider: String) {
        inbound = "\(provider) inbound message"
        inboundBody = "\(provider) inbound message body"
        mediaDropped = "\(provider) inbound message: media dropped, not an http(s) URL"
        status = "\(provider) status callback"
        statusHeld = "\(provider) status callback held until its message is known"
        statusIgnored = "\(provider) status callback ignored: it does not belong to the message's business"
    }
}

/// The answer to a webhook: status, content type and the exact body.
public struct WebhookResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: String
    /// Seconds for a `Retry-After` header (a 503 while the database cannot store).
    public var retryAfter: Int?

    public init(status: Int, contentType: String, body: String, retryAfter: Int? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.retryAfter = retryAfter
    }
}

extension WebhookError {
    /// The HTTP status for each refusal, decided here and nowhere else.
    public var httpStatus: Int {
        switch self {
        case .unsupportedMediaType: 415
        case .bodyTooLarge: 413
        case .malformedForm, .invalidUTF8, .missingParameter, .invalidParameter, .unsupportedChannel: 400
        case .missingSignature, .badSignature: 403
        case .signatureKeyNotConfigured: 500
        case .unknownNumber, .otherProvider: 404
        }
    }
}
