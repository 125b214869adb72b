import ReplylineCore
import Testing

@testable import ReplylineProviders

@Suite("Twilio as a provider")
struct TwilioProviderTests {
    static let provider = TwilioProvider(authToken: nil, sharedKey: nil, accountID: nil)

    @Test("The form content type is recognised in any case, with parameters and spaces, and nothing else is")
    func formContentType() {
        for accepted in [
            "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
            "Application/X-WWW-Form-URLEncoded;charset=UTF-8", " application/x-www-form-urlencoded \t; charset=utf-8",
        ] {
            #expect(Self.provider.accepts(contentType: accepted), "\(accepted)")
        }
        for refused in [
            "", "application/json", "application/x-www-form-urlencodedX", "application/x-www-form-urlencode",
            "application\u{0F}x-www-form-urlencoded", "application/x-www-form-urlencoded,text/plain", "multipart/form-data",
        ] {
            #expect(!Self.provider.accepts(contentType: refused), "\(refused)")
        }
    }

    @Test("Error codes are explained")
    func meanings() {
        #expect(TwilioErrorCode.meaning("30003") == "unreachable destination handset")
        #expect(TwilioErrorCode.meaning("30007") == "carrier filtered (spam)")
        #expect(TwilioErrorCode.meaning("21610").contains("STOP"))
        #expect(TwilioErrorCode.meaning("99999").contains("99999"))
        #expect(Self.provider.error("30007") == TwilioErrorCode.error("30007"))
    }

    @Test("A refused send's code says what follows: 21610 an opt-out, 21211 and 21614 an invalid number, others a failure")
    func consequences() {
        #expect(TwilioErrorCode.error("21610").consequence == .optedOut)
        #expect(TwilioErrorCode.error("21211").consequence == .invalidNumber)
        #expect(TwilioErrorCode.error("21614").consequence == .invalidNumber)
        #expect(TwilioErrorCode.error("30007").consequence == .failed)
        #expect(TwilioErrorCode.error("99999").consequence == .failed)
    }

    @Test("A status callback is read with its older Sms names, its error's meaning, and the message id from the query")
    func statusReport() throws {
        let form = try FormBody.decode(
            "AccountSid=AC1&SmsSid=SM1&SmsStatus=Undelivered&ErrorCode=30007&From=%2B15017122661&To=%2B14155550100")
        let request = WebhookRequest(target: "/webhooks/twilio/status?x=1&m=42", headers: [], body: [])
        let event = try Self.provider.statusReport(form, request: request)
        #expect(
            event
                == StatusReport(
                    providerMessageID: "SM1", status: .undelivered, errorCode: "30007", errorMessage: "carrier filtered (spam)",
                    accountID: "AC1", from: "+15017122661", messageIDHint: 42))
        let unknown = try FormBody.decode("MessageSid=SM1&MessageStatus=lost")
        #expect(throws: WebhookError.self) { try Self.provider.statusReport(unknown, request: request) }
        let noError = try Self.provider.statusReport(
            try FormBody.decode("MessageSid=SM1&MessageStatus=sent&ErrorCode=0"),
            request: WebhookRequest(target: "/webhooks/twilio/status", headers: [], body: []))
        #expect(noError.errorCode == nil && noError.errorMessage == nil && noError.messageIDHint == nil)
    }

    @Test("Replies go inline, in TwiML")
    func replies() {
        #expect(Self.provider.replyMode == .inline(contentType: TwiML.contentType))
        #expect(Self.provider.renderReplies(["a & b"]) == TwiML.render([TwiMLMessage(body: "a & b")]))
    }
}
