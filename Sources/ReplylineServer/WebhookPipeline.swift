import Foundation
import Logging
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// Twilio's inbound-message webhook: parse, verify, record exactly once, answer in TwiML.
///
/// The order of checks is the order of cost: content type and size, form decoding, the
/// signature (before anything touches the database), parameters, then the business.
public struct TwilioWebhookHandler: Sendable {
    public static let maxBodyBytes = 64 * 1024

    let database: AppDatabase
    let directory: BusinessDirectory
    let verifier: TwilioSignatureVerifier
    let publicURL: String
    let now: @Sendable () -> Date
    let logger: Logger
    let metrics: Metrics
    /// The account each business's status callbacks must name, by business id: its own
    /// `account_sid`, else the deployment's `TWILIO_ACCOUNT_SID`. A business with neither
    /// is absent, and its callbacks are checked on their number alone: the only other
    /// account to go by would be the `AccountSid` of its inbound texts, which arrive over
    /// the same signed channel as the callbacks (so it proves nothing more) and would
    /// silently drop every callback the day the number moves to a subaccount.
    let expectedAccounts: [String: String]
    /// The business that sends from each number (its provider numbers and its sending
    /// number), for callbacks that arrive before their message is known.
    let sendersByNumber: [String: String]

    init(
        database: AppDatabase, directory: BusinessDirectory, verifier: TwilioSignatureVerifier, publicURL: String,
        deploymentAccountSID: String?, now: @escaping @Sendable () -> Date, logger: Logger, metrics: Metrics
    ) {
        self.database = database
        self.directory = directory
        self.verifier = verifier
        self.publicURL = publicURL
        self.now = now
        self.logger = logger
        self.metrics = metrics
        var accounts: [String: String] = [:]
        var senders: [String: String] = [:]
        for business in directory.businesses {
            if let account = business.accountSID ?? deploymentAccountSID { accounts[business.id] = account }
            for number in business.numbers.union([business.sendingNumber]) { senders[number] = business.id }
        }
        self.expectedAccounts = accounts
        self.sendersByNumber = senders
    }

    public func inbound(_ request: WebhookRequest) async -> WebhookResponse {
        let started = ContinuousClock.now
        defer { metrics.webhookDuration(ContinuousClock.now - started) }
        do {
            let form = try verifiedForm(request)
            var message = try TwilioInbound.parse(form)
            message.to = try Self.routingNumber(message.to)
            guard let business = directory.business(receivingOn: message.to, messagingServiceID: message.messagingServiceID) else {
                throw WebhookError.unknownNumber(message.to)
            }
            message.from = try Self.contactNumber(message.from, country: business.rules.business.country)
            if !message.droppedMedia.isEmpty {
                logger.notice(
                    "twilio inbound message: media dropped, not an http(s) URL",
                    metadata: [
                        "sid": "\(message.providerMessageID)", "business": "\(business.id)",
                        "parameters": "\(message.droppedMedia.joined(separator: ","))",
                    ])
            }
            let now = self.now()
            let engine = business.engine
            let text = message.text
            let outcome = try await database.recordInbound(
                message, businessID: business.id, now: now,
                decide: { engine.decide(text, contact: $0, now: now) },
                render: { decision in TwiML.render(decision.replies.map { TwiMLMessage(body: $0) }) })
            let intent = outcome.decision?.intent.description ?? ""
            metrics.inbound(intent: intent, duplicate: outcome.isDuplicate)
            logger.info(
                "twilio inbound message",
                metadata: [
                    "sid": "\(message.providerMessageID)", "business": "\(business.id)", "message": "\(outcome.messageID)",
                    "outcome": "\(outcome.isDuplicate ? "duplicate" : intent)",
                ])
            logger.trace("twilio inbound message body", metadata: ["sid": "\(message.providerMessageID)", "body": "\(message.body)"])
            return WebhookResponse(status: 200, contentType: TwiML.contentType, body: outcome.reply)
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

    /// The answer to a webhook that failed: its refusal with the reason, or a 500 (nothing
    /// was committed, so the provider's retry is safe).
    func refusal(_ error: any Error, webhook: String) -> WebhookResponse {
        if let error = error as? WebhookError {
            metrics.webhookRefused(status: error.httpStatus)
            logger.notice("twilio \(webhook) refused", metadata: ["status": "\(error.httpStatus)", "reason": "\(error)"])
            return WebhookResponse(status: error.httpStatus, contentType: "text/plain; charset=utf-8", body: error.description + "\n")
        }
        logger.error("twilio \(webhook) failed to commit", metadata: ["error": "\(error)"])
        return WebhookResponse(
            status: 500, contentType: "text/plain; charset=utf-8",
            body: "The \(webhook) could not be stored and was not acknowledged; the provider may retry.\n")
    }

    /// Twilio's status callback: signed like inbound messages; the status only moves
    /// forward, every callback is kept in the message's history, and one for an id not yet
    /// known is held until the id appears. Answered 204 once committed.
    ///
    /// A callback must belong to the business its message belongs to: its `From` (our
    /// sending number on a status callback) must be the message's, and its `AccountSid`
    /// the business's expected account (see `expectedAccounts`). One that does not is
    /// ignored with a warning and still answered 204, so the provider stops retrying.
    public func status(_ request: WebhookRequest) async -> WebhookResponse {
        do {
            let form = try verifiedForm(request)
            guard let sid = form["MessageSid"] ?? form["SmsSid"], !sid.isEmpty else { throw WebhookError.missingParameter("MessageSid") }
            guard let statusText = form["MessageStatus"] ?? form["SmsStatus"] else { throw WebhookError.missingParameter("MessageStatus") }
            guard let status = DeliveryStatus(rawValue: statusText.lowercased()) else {
                throw WebhookError.invalidParameter(
                    "MessageStatus",
                    "`\(statusText.prefix(30))` is not one of \(DeliveryStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let hint = request.target.split(separator: "?", maxSplits: 1).dropFirst().first.flatMap { query in
                query.split(separator: "&").first { $0.hasPrefix("m=") }.flatMap { Int64($0.dropFirst(2)) }
            }
            let errorCode = form["ErrorCode"].flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
            // A From that is no phone number (a whatsapp: address) stays as sent: it matches no message's number.
            let from = form["From"].map { PhoneNumber(withCountryCode: $0)?.e164 ?? $0 }
            let sender = from.flatMap { sendersByNumber[$0] } ?? (directory.businesses.count == 1 ? directory.businesses[0].id : nil)
            let callback = StatusCallback(
                provider: TwilioInbound.provider, providerMessageID: sid, status: status, errorCode: errorCode,
                errorMessage: form["ErrorMessage"] ?? errorCode.map(ProviderErrorCode.meaning), messageID: hint,
                accountID: form["AccountSid"], from: from, businessID: sender)
            let outcome = try await database.recordStatusCallback(callback, now: now(), expectedAccounts: expectedAccounts)
            metrics.statusCallback(status: status.rawValue)
            switch outcome {
            case .applied(let current, let business):
                logger.info(
                    "twilio status callback",
                    metadata: [
                        "sid": "\(WebhookError.printable(sid))", "business": "\(business)", "reported": "\(status.rawValue)",
                        "status": "\(current.rawValue)",
                    ])
            case .held:
                logger.info(
                    "twilio status callback held until its message is known",
                    metadata: ["sid": "\(WebhookError.printable(sid))", "business": "\(sender ?? "")", "reported": "\(status.rawValue)"])
            case .ignored(let mismatch):
                logger.warning(
                    "twilio status callback ignored: it does not belong to the message's business",
                    metadata: [
                        "sid": "\(WebhookError.printable(sid))", "business": "\(mismatch.businessID ?? "none")",
                        "reason": "\(WebhookError.printable(mismatch.description, limit: 200))",
                    ])
            }
            return WebhookResponse(status: 204, contentType: "text/plain; charset=utf-8", body: "")
        } catch {
            return refusal(error, webhook: "status callback")
        }
    }

    /// Checks content type and size, decodes the form, and verifies the signature.
    func verifiedForm(_ request: WebhookRequest) throws(WebhookError) -> FormBody {
        let contentType = request.headerValues("content-type").first
        guard let contentType, Self.isForm(contentType) else { throw .unsupportedMediaType(contentType) }
        guard !request.bodyExceededLimit, request.body.count <= Self.maxBodyBytes else { throw .bodyTooLarge(limit: Self.maxBodyBytes) }
        guard !request.bodyUnreadable else {
            throw .malformedForm("the body could not be read (a broken chunked encoding or a short body)")
        }
        let form = try FormBody.decode(request.body)
        let signatures = Set(request.headerValues("x-twilio-signature"))
        guard signatures.count <= 1 else { throw .badSignature }
        try verifier.verify(
            url: publicURL + request.target, parameters: form.pairs, rawBody: request.body,
            signature: signatures.first, signatureSettings: request.headerValues("x-twilio-webhooks-signature-settings").first)
        return form
    }
}

extension TwilioWebhookHandler {
    /// True for `application/x-www-form-urlencoded`, in any case, with or without parameters
    /// and the spaces around them.
    static func isForm(_ contentType: String) -> Bool {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var mediaType = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        while let first = mediaType.first, isSpace(first) { mediaType.removeFirst() }
        while let last = mediaType.last, isSpace(last) { mediaType.removeLast() }
        return mediaType.elementsEqual(formType) { byte, expected in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 == expected : byte == expected
        }
    }

    private static let formType = Array("application/x-www-form-urlencoded".utf8)
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
        case .unknownNumber: 404
        }
    }
}
