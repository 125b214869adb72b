import Foundation
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// openapi.json's `CallLog`: a call and every SMS it asked for.
struct CallLogJSON: Encodable {
    var call_id: String
    var agent: String
    var phone: String
    var ended_at: Date?
    var received_at: Date
    var variables: [String: String]
    var sms: [CallSMSJSON]

    init(_ log: CallLog, errors: (String) -> ProviderError?) {
        call_id = log.call.callID
        agent = log.call.agent
        phone = log.call.phone
        ended_at = log.call.endedAt
        received_at = log.call.receivedAt
        variables = log.call.variables
        sms = log.sms.map { CallSMSJSON($0, errors: errors) }
    }
}

struct CallLogPageJSON: Encodable {
    var calls: [CallLogJSON]
    var next_cursor: String?
}

/// openapi.json's `CallSMS`: one SMS a call asked for and what became of it.
struct CallSMSJSON: Encodable {
    struct NotSent: Encodable {
        /// `opted_out`, `no_marketing_consent`, `number_invalid`, `over_plan_limit`, another
        /// block (`blocked`), `skipped`, `cancelled` or `interrupted`.
        var reason: String
        var detail: String
    }

    struct Waiting: Encodable {
        /// `outside_hours`, `cadence`, `retry` or `scheduled`.
        var reason: String
        var until: Date
        var detail: String?
    }

    struct Failure: Encodable {
        var code: String
        var meaning: String
        var advice: String?
    }

    struct Reply: Encodable {
        var id: MessageID
        var body: String
        var intent: String?
        var received_at: Date
    }

    var action: String?
    var kind: MessageKind
    var `class`: String
    var requested_at: Date
    var body: String
    /// The message's status, or `not_sent`.
    var status: String
    var message: InboxController.MessageJSON?
    var not_sent: NotSent?
    var waiting: Waiting?
    var error: Failure?
    var replies: [Reply]

    init(_ sms: CallSMS, errors: (String) -> ProviderError?) {
        action = sms.action
        kind = sms.kind
        self.class = sms.messageClass.rawValue
        requested_at = sms.requestedAt
        body = sms.body
        replies = sms.replies.map { Reply(id: $0.id!, body: $0.body, intent: $0.intent, received_at: $0.createdAt) }
        guard let item = sms.message else {
            status = "not_sent"
            not_sent = sms.refusal.map(Self.notSent)
            return
        }
        let message = item.message
        self.message = InboxController.MessageJSON(message, history: item.history, hold: item.hold)
        switch message.status {
        case .blocked, .skipped, .cancelled, .unknown:
            status = "not_sent"
            not_sent = Self.notSent(message)
        default:
            status = message.status.rawValue
        }
        if let hold = item.hold { waiting = Self.waiting(hold) }
        if let code = message.errorCode, message.status == .failed || message.status == .undelivered {
            let known = errors(code)
            error = Failure(code: code, meaning: known?.meaning ?? message.errorMessage ?? "error \(code)", advice: known?.advice)
        }
    }

    static func notSent(_ refusal: CallSMSRefusal) -> NotSent {
        switch refusal {
        case .optedOut:
            NotSent(reason: "opted_out", detail: "The contact opted out (replied STOP); nothing is sent to them until they reply START.")
        case .noMarketingConsent:
            NotSent(
                reason: "no_marketing_consent",
                detail: "A marketing text needs the contact's prior express written consent, and none is recorded; nothing was sent.")
        }
    }

    /// Why the outbox did not send it, from the reason it recorded.
    static func notSent(_ message: StoredMessage) -> NotSent {
        let detail = message.errorMessage ?? message.status.rawValue
        let reason: String =
            switch message.status {
            case .blocked where detail.contains(SendPolicy.BlockReason.optedOut): "opted_out"
            case .blocked where detail.contains(SendPolicy.BlockReason.numberInvalid): "number_invalid"
            case .blocked where detail.contains(SendPolicy.BlockReason.monthlyLimit): "over_plan_limit"
            case .unknown: "interrupted"
            default: message.status.rawValue
            }
        return NotSent(reason: reason, detail: detail)
    }

    static func waiting(_ hold: MessageHold) -> Waiting {
        let note = hold.reason ?? ""
        let reason =
            note.contains(Hold.businessHours.rawValue)
            ? "outside_hours" : note.contains(Hold.cadence.rawValue) ? "cadence" : note.isEmpty ? "scheduled" : "retry"
        return Waiting(reason: reason, until: hold.until, detail: hold.reason)
    }
}
