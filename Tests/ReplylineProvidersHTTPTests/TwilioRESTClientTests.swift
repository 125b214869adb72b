import Foundation
import ReplylineProviders
import Testing

@testable import ReplylineProvidersHTTP

@Suite("Twilio REST client")
struct TwilioRESTClientTests {
    @Test("The form carries To, From, Body, each MediaUrl and the StatusCallback, escaped")
    func form() {
        let form = TwilioRESTClient.form(
            .init(
                to: "+14155550100", from: "+15017122661", messagingServiceSID: nil, body: "Hi & bye 😊",
                mediaURLs: ["https://x.example/a.png?x=1&y=2", "https://x.example/b.png"],
                statusCallback: "https://r.example/webhooks/twilio/status?m=7"))
        #expect(
            form
                == "To=%2B14155550100&From=%2B15017122661&Body=Hi%20%26%20bye%20%F0%9F%98%8A&MediaUrl=https%3A%2F%2Fx.example%2Fa.png%3Fx%3D1%26y%3D2&MediaUrl=https%3A%2F%2Fx.example%2Fb.png&StatusCallback=https%3A%2F%2Fr.example%2Fwebhooks%2Ftwilio%2Fstatus%3Fm%3D7"
        )
        let decoded = try! FormBody.decode(form)
        #expect(decoded.pairs.filter { $0.name == "MediaUrl" }.count == 2)
        #expect(decoded["Body"] == "Hi & bye 😊")
        let viaService = TwilioRESTClient.form(
            .init(to: "+1", from: "+2", messagingServiceSID: "MG1", body: "x", mediaURLs: [], statusCallback: nil))
        #expect(viaService == "To=%2B1&MessagingServiceSid=MG1&Body=x")
    }

    @Test("Answers are read: accepted, refused with a code, or worth retrying")
    func outcomes() {
        #expect(
            TwilioRESTClient.outcome(status: 201, body: Array(#"{"sid": "SM123", "status": "queued"}"#.utf8), retryAfter: nil)
                == .accepted(sid: "SM123", status: "queued"))
        #expect(
            TwilioRESTClient.outcome(
                status: 400, body: Array(#"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}"#.utf8),
                retryAfter: nil)
                == .rejected(code: "21610", message: "Attempt to send to unsubscribed recipient"))
        #expect(
            TwilioRESTClient.outcome(status: 429, body: Array(#"{"code": 20429, "message": "Too Many Requests"}"#.utf8), retryAfter: "30")
                == .retryable(reason: "HTTP 429 (20429): Too Many Requests", retryAfter: 30))
        #expect(
            TwilioRESTClient.outcome(status: 503, body: Array("<html>down</html>".utf8), retryAfter: nil)
                == .retryable(reason: "HTTP 503: HTTP 503", retryAfter: nil))
        #expect(TwilioRESTClient.outcome(status: 401, body: [], retryAfter: nil) == .rejected(code: nil, message: "HTTP 401"))
    }

    @Test("A code given as a string is kept; a field of another type, or a body that is no JSON object, reads as absent")
    func oddAnswers() {
        #expect(
            TwilioRESTClient.outcome(status: 400, body: Array(#"{"code": "30007", "message": "Carrier filtered"}"#.utf8), retryAfter: nil)
                == .rejected(code: "30007", message: "Carrier filtered"))
        #expect(
            TwilioRESTClient.outcome(status: 400, body: Array(#"{"code": 21211, "message": {"text": "Invalid To"}}"#.utf8), retryAfter: nil)
                == .rejected(code: "21211", message: "HTTP 400"))
        #expect(
            TwilioRESTClient.outcome(status: 400, body: Array(#"{"code": [1], "message": "Bad"}"#.utf8), retryAfter: nil)
                == .rejected(code: nil, message: "Bad"))
        #expect(
            TwilioRESTClient.outcome(status: 201, body: Array(#"{"sid": 5, "status": "queued"}"#.utf8), retryAfter: nil)
                == .retryable(reason: "Twilio answered 201 without a message sid", retryAfter: nil))
        #expect(
            TwilioRESTClient.outcome(status: 201, body: Array(#"[{"sid": "SM123"}]"#.utf8), retryAfter: nil)
                == .retryable(reason: "Twilio answered 201 without a message sid", retryAfter: nil))
        #expect(
            TwilioRESTClient.outcome(status: 201, body: Array(#"{"sid": "SM123", "status": null}"#.utf8), retryAfter: nil)
                == .accepted(sid: "SM123", status: "queued"))
    }
}
