import ReplylineCore

/// Twilio's webhooks: form bodies signed with `X-Twilio-Signature`, replies in TwiML in
/// the webhook's answer.
public struct TwilioProvider: MessagingProvider {
    public static let name = "twilio"

    public var name: String { Self.name }
    public var maxBodyBytes: Int { 64 * 1024 }
    public var replyMode: ReplyMode { .inline(contentType: TwiML.contentType) }
    public let accountID: String?
    let verifier: TwilioSignatureVerifier

    /// - Parameters:
    ///   - authToken: signs webhooks; nil accepts unsigned ones (local development only).
    ///   - sharedKey: signs webhooks sent with `X-Twilio-Webhooks-Signature-Settings`.
    ///   - accountID: the deployment's account (`TWILIO_ACCOUNT_SID`).
    public init(authToken: String?, sharedKey: String?, accountID: String?) {
        self.verifier = TwilioSignatureVerifier(authToken: authToken, sharedKey: sharedKey)
        self.accountID = accountID
    }

    public func accepts(contentType: String) -> Bool { FormBody.isContentType(contentType) }

    public func decode(_ body: [UInt8]) throws(WebhookError) -> FormBody { try FormBody.decode(body) }

    public func verify(_ request: WebhookRequest, payload: FormBody, url: String) throws(WebhookError) {
        let signatures = Set(request.headerValues("x-twilio-signature"))
        guard signatures.count <= 1 else { throw .badSignature }
        try verifier.verify(
            url: url, parameters: payload.pairs, rawBody: request.body, signature: signatures.first,
            signatureSettings: request.headerValues("x-twilio-webhooks-signature-settings").first)
    }

    public func inboundMessage(_ payload: FormBody) throws(WebhookError) -> InboundMessage { try TwilioInbound.parse(payload) }

    /// `MessageSid` and `MessageStatus` (or their older `Sms` names), with `ErrorCode`
    /// (`0` or empty is none) and `ErrorMessage`, else the code's meaning.
    public func statusReport(_ form: FormBody, request: WebhookRequest) throws(WebhookError) -> StatusReport {
        guard let sid = form["MessageSid"] ?? form["SmsSid"], !sid.isEmpty else { throw .missingParameter("MessageSid") }
        guard let statusText = form["MessageStatus"] ?? form["SmsStatus"] else { throw .missingParameter("MessageStatus") }
        guard let status = DeliveryStatus(rawValue: statusText.lowercased()) else {
            throw .invalidParameter(
                "MessageStatus",
                "`\(statusText.prefix(30))` is not one of \(DeliveryStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let errorCode = form["ErrorCode"].flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
        return StatusReport(
            providerMessageID: sid, status: status, errorCode: errorCode,
            errorMessage: form["ErrorMessage"] ?? errorCode.map(TwilioErrorCode.meaning), accountID: form["AccountSid"],
            from: form["From"], messageIDHint: request.messageIDHint)
    }

    public func error(_ code: String) -> ProviderError { TwilioErrorCode.error(code) }

    public func renderReplies(_ replies: [String]) -> String { TwiML.render(replies.map { TwiMLMessage(body: $0) }) }
}
