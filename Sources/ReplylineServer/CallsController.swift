import Crypto
import Foundation
import Hummingbird
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// Voice-agent calls: `POST /api/v1/calls` (a call event naming the SMS actions whose
/// condition held), `POST /api/v1/calls/{call_id}/sms` (an action or a text during a live
/// call), and the call logs, `GET /api/v1/calls/{call_id}` and `GET /api/v1/calls?since=`.
struct CallsController {
    let store: any ConversationStore
    let outbound: OutboundService
    let providers: ProviderRegistry
    let now: @Sendable () -> Date

    func addRoutes(to group: RouterGroup<APIContext>) {
        group.post("calls", use: record)
        group.get("calls", use: list)
        group.get("calls/{call_id}", use: show)
        group.post("calls/{call_id}/sms", use: sendDuringCall)
    }

    /// A call variable as voice platforms send them: text, a number or a yes/no, kept as text.
    struct VariableValue: Decodable {
        var text: String?

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if value.decodeNil() {
                text = nil
            } else if let string = try? value.decode(String.self) {
                text = string
            } else if let bool = try? value.decode(Bool.self) {
                text = bool ? "true" : "false"
            } else if let integer = try? value.decode(Int64.self) {
                text = String(integer)
            } else {
                text = String(try value.decode(Double.self))
            }
        }
    }

    /// The body of `POST /calls`.
    struct CallEventBody: APIRequestBody {
        var call_id: String?
        var agent: String?
        var phone: String?
        var ended_at: String?
        var variables: [String: VariableValue]?
        var actions: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case call_id, agent, phone, ended_at, variables, actions
        }

        static func expectation(for field: CodingKeys) -> String {
            switch field {
            case .variables: Limits.variablesExpectation
            case .actions: "`actions` must be a list of action names, e.g. [\"sms_confirmation\"]."
            case .call_id, .agent, .phone, .ended_at: AppointmentsController.Fields.notText(field.rawValue)
            }
        }
    }

    /// The body of `POST /calls/{call_id}/sms`: an action, or a plain text.
    struct CallSMSBody: APIRequestBody {
        var action: String?
        var body: String?
        var variables: [String: VariableValue]?
        var idempotency_key: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case action, body, variables, idempotency_key
        }

        static func expectation(for field: CodingKeys) -> String {
            switch field {
            case .variables: Limits.variablesExpectation
            case .body: AppointmentsController.Fields.notText("body", max: Limits.body)
            case .action, .idempotency_key: AppointmentsController.Fields.notText(field.rawValue)
            }
        }
    }

    enum Limits {
        static let variables = 100
        static let variableName = 64
        static let variableValue = 1000
        static let actions = 20
        /// As for a message staff write: ten segments.
        static let body = 1600
        static let variablesExpectation =
            "`variables` must be an object of texts, numbers or true/false, e.g. {\"customer_name\": \"Ana\", \"appointment_date\": \"Fri, Dec 4\"}."
    }

    @Sendable func record(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let event = try await request.decode(as: CallEventBody.self, context: context)
        let fields = AppointmentsController.Fields.self
        let callID = try Self.callID(event.call_id)
        let agent = try fields.text(event.agent, "agent", required: true, max: 64)!
        let phoneText = try fields.text(event.phone, "phone", required: true)!
        guard let phone = PhoneNumber(phoneText, defaultCountry: business.rules.business.country) else {
            throw APIError.invalid("phone", "`\(phoneText)` is not a phone number. Use E.164 (+15551234567).")
        }
        let now = now()
        var endedAt: Date?
        if let text = try fields.text(event.ended_at, "ended_at", required: false) {
            guard let date = RFC3339.date(from: text) else {
                throw APIError.invalid("ended_at", "`ended_at` must be an RFC 3339 time with an offset, e.g. 2026-12-01T15:30:00-05:00.")
            }
            guard date <= now.addingTimeInterval(5 * 60) else {
                throw APIError.invalid("ended_at", "`ended_at` is in the future; send it once the call has ended.")
            }
            endedAt = date
        }
        let variables = try Self.variables(event.variables)
        let actions = try Self.actionNames(event.actions)
        let planned = try Self.plan(
            business: business, agent: agent, actions: actions, variables: variables, callEnded: endedAt != nil, inCallRequest: false)
        let call = CallRecord(callID: callID, agent: agent, phone: phone.e164, endedAt: endedAt, variables: variables, receivedAt: now)
        let sms = planned.map { Self.request($0, endedAt: endedAt, now: now, business: business) }
        let outcome = try await recordCall(call, sms: sms, business: business)
        return try JSON.response(CallLogJSON(outcome.log, errors: errors(of: business)), status: outcome.createdCall ? .created : .ok)
    }

    @Sendable func sendDuringCall(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let callID = try Self.callID(context)
        let body = try await request.decode(as: CallSMSBody.self, context: context)
        let now = now()
        guard let log = try await store.callLog(businessID: business.id, callID: callID, now: now) else {
            throw APIError(
                .notFound, code: "not_found",
                message:
                    "Call \(callID) not found for this API key's business. Post its event first: POST /api/v1/calls with call_id, agent and phone (no ended_at while it is live)."
            )
        }
        let fields = AppointmentsController.Fields.self
        let action = try fields.text(body.action, "action", required: false, max: 64)
        let text = try fields.text(body.body, "body", required: false, max: Limits.body, lines: .many)
        let variables = log.call.variables.merging(try Self.variables(body.variables)) { _, new in new }
        var sms: CallSMSRequest
        switch (action, text) {
        case (let action?, nil):
            let planned = try Self.plan(
                business: business, agent: log.call.agent, actions: [action], variables: variables, callEnded: true, inCallRequest: true)
            sms = Self.request(planned[0], endedAt: log.call.endedAt, now: now, business: business)
        case (nil, let text?):
            let key = try fields.text(body.idempotency_key, "idempotency_key", required: false, max: 200)
            let planned = PlannedCallSMS(action: "", kind: .inCall, messageClass: .transactional, body: text)
            sms = Self.request(planned, endedAt: log.call.endedAt, now: now, business: business)
            sms.key = "body:" + (key ?? Self.digest(text))
            sms.action = nil
        default:
            throw APIError.invalid(
                "action", "Give either `action` (an in_call action's name) or `body` (a text), not both and not neither.")
        }
        var call = log.call
        call.variables = variables
        let outcome = try await recordCall(call, sms: [sms], business: business)
        guard let recorded = outcome.log.sms.first(where: { $0.key == sms.key }) else {
            throw StoredValueError("call \(callID) has no SMS \(sms.key) after recording it")
        }
        let status: HTTPResponse.Status = outcome.recorded.contains(sms.key) ? .created : .ok
        return try JSON.response(CallSMSJSON(recorded, errors: errors(of: business)), status: status)
    }

    @Sendable func show(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let callID = try Self.callID(context)
        guard let log = try await store.callLog(businessID: business.id, callID: callID, now: now()) else {
            throw APIError.notFound("Call \(callID)")
        }
        return try JSON.response(CallLogJSON(log, errors: errors(of: business)))
    }

    /// `GET /calls?since=RFC3339[&limit=N][&cursor=…]`: calls first heard of since then
    /// (the last day by default), oldest first.
    @Sendable func list(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let query = request.uri.queryParameters
        let since = try Query.time(query, "since") ?? now().addingTimeInterval(-24 * 3600)
        let limit = try Query.limit(query)
        var cursor: CallCursor?
        if let text = query.get("cursor") {
            guard let parts = Cursor.decode(text), parts.count == 2, parts[0] == "call", let id = Int64(parts[1]) else {
                throw Query.invalidCursor
            }
            cursor = CallCursor(id: id)
        }
        let page = try await store.callLogs(businessID: business.id, since: since, limit: limit, after: cursor, now: now())
        let errors = errors(of: business)
        return try JSON.response(
            CallLogPageJSON(
                calls: page.logs.map { CallLogJSON($0, errors: errors) },
                next_cursor: page.next.map { Cursor.encode("call:\($0.id)") }))
    }

    // MARK: Checks

    func recordCall(_ call: CallRecord, sms: [CallSMSRequest], business: Business) async throws -> CallEventOutcome {
        do {
            return try await outbound.recordCall(call, sms: sms, for: business)
        } catch CallEventConflict.differentCall(let field, let recorded) {
            throw APIError(
                .conflict, code: "call_conflict",
                message:
                    "Call \(call.callID) is recorded with \(field) \(recorded); a call's \(field) cannot change. Use a new call_id for another call.",
                field: field)
        }
    }

    /// The error meanings of the business's provider.
    func errors(of business: Business) -> @Sendable (String) -> ProviderError? {
        let entry = providers[outbound.provider(of: business)]
        return { code in entry?.errors(code) }
    }

    /// The `{call_id}` of the path, percent-decoded, checked as `callID(_:)` checks a body's.
    static func callID(_ context: APIContext) throws -> String {
        try callID(context.parameters.get("call_id").map { $0.removingPercentEncoding ?? $0 })
    }

    static func callID(_ value: String?) throws -> String {
        let text = try AppointmentsController.Fields.text(value, "call_id", required: true, max: 128)!
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) else {
            throw APIError.invalid("call_id", "`call_id` may hold letters, digits and - _ . : only, as voice platforms' call ids do.")
        }
        return text
    }

    static func variables(_ values: [String: VariableValue]?) throws -> [String: String] {
        guard let values else { return [:] }
        guard values.count <= Limits.variables else {
            throw APIError.invalid("variables", "`variables` has \(values.count) entries; at most \(Limits.variables) are kept.")
        }
        var result: [String: String] = [:]
        for (name, value) in values {
            guard !name.isEmpty, name.count <= Limits.variableName else {
                throw APIError.invalid("variables", "A variable name must have 1 to \(Limits.variableName) characters.")
            }
            guard let text = value.text else { continue }
            guard text.count <= Limits.variableValue else {
                throw APIError.invalid("variables", "Variable `\(name)` has more than \(Limits.variableValue) characters.")
            }
            try APIText.check(text, field: "variables", lines: .many)
            result[name] = text
        }
        return result
    }

    /// The names, each once, in order; refused as soon as there are too many.
    static func actionNames(_ names: [String]?) throws -> [String] {
        var result: [String] = []
        var seen: Set<String> = []
        for name in names ?? [] where seen.insert(name).inserted {
            result.append(name)
            guard result.count <= Limits.actions else {
                throw APIError.invalid("actions", "`actions` names more than \(Limits.actions) actions; at most \(Limits.actions) a call.")
            }
        }
        return result
    }

    /// The planner's SMS, or a 422 naming every missing input and unknown name.
    static func plan(
        business: Business, agent: String, actions: [String], variables: [String: String], callEnded: Bool, inCallRequest: Bool
    ) throws -> [PlannedCallSMS] {
        let values = business.engine.values(contact: ContactSnapshot(), appointment: nil)
        switch CallPlanner.plan(
            agent: agent, actions: actions, variables: variables, callEnded: callEnded, inCallRequest: inCallRequest,
            rules: business.rules, business: { values[$0] })
        {
        case .success(let planned): return planned
        case .failure(let errors):
            let problems = errors.problems.map(\.description)
            let field: String =
                switch errors.problems[0] {
                case .unknownAgent: "agent"
                case .missingVariable: "variables"
                case .unknownAction, .notAttached, .callNotEnded, .notInCall: inCallRequest ? "action" : "actions"
                }
            throw APIError(
                .unprocessableContent, code: "invalid_call_event",
                message: problems.count == 1 ? problems[0] : "\(problems.count) problems: " + problems.joined(separator: "; "),
                field: field, problems: problems)
        }
    }

    /// What the store records for a planned SMS: due now, or at opening time for a call that
    /// ended more than a few minutes ago. A marketing text needs prior express written
    /// consent, which Replyline does not record yet: it is refused, never sent.
    static func request(_ planned: PlannedCallSMS, endedAt: Date?, now: Date, business: Business) -> CallSMSRequest {
        let profile = business.rules.business
        let due = SendPolicy.callSMSDue(endedAt: endedAt, now: now, business: profile)
        return CallSMSRequest(
            key: planned.action, action: planned.action, kind: planned.kind == .postCall ? .postCall : .inCall,
            messageClass: planned.messageClass, body: planned.body,
            refusal: planned.messageClass == .marketing ? .noMarketingConsent : nil, dueAt: due,
            holdNote: due > now
                ? "held until \(OutboxWorker.localTime(due, in: profile.timeZone, now: now)) (\(Hold.businessHours.rawValue)): the call ended over \(Int(SendPolicy.callFollowUpWindow / 60)) minutes before"
                : nil)
    }

    /// A short digest of a text: the idempotency key of a plain in-call SMS sent without one.
    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }
}
