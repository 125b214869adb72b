import Foundation
import Hummingbird
import ReplylineCore
import ReplylineStore

/// `GET /reports/usage?month=YYYY-MM` and `GET /reports/deliverability?month=YYYY-MM`.
struct ReportsController {
    let store: any ConversationStore
    /// For what each provider's error codes mean.
    let providers: ProviderRegistry
    let now: @Sendable () -> Date

    func addRoutes(to group: RouterGroup<APIContext>) {
        group.get("reports/usage", use: usage)
        group.get("reports/deliverability", use: deliverability)
    }

    struct UsageJSON: Encodable {
        var month: String
        /// Nil when no plan is configured: then nothing limits sending.
        var plan: String?
        var included_messages: Int?
        /// Messages the plan allows in a month, overage included; nil is no limit.
        var monthly_limit: Int?
        var messages_sent: Int
        var segments_sent: Int
        var messages_received: Int
        var segments_received: Int
        var overage_messages: Int
        var overage_cost_cents: Int
        var limit_reached: Bool
    }

    struct ErrorCodeJSON: Encodable {
        var code: String
        var count: Int
        var meaning: String
    }

    struct DeliverabilityJSON: Encodable {
        var month: String
        var sent: Int
        var delivered: Int
        var failed: Int
        var contacts_messaged: Int
        var delivery_rate: Double
        var response_rate: Double
        var opt_out_rate: Double
        var error_codes: [ErrorCodeJSON]
    }

    /// The month asked for (UTC), or the current one.
    func month(_ request: Request) throws -> (label: String, start: Date, end: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var components = calendar.dateComponents([.year, .month], from: now())
        if let text = request.uri.queryParameters.get("month") {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard text.count == 7, parts.count == 2, parts.joined().allSatisfy(\.isASCII), parts.joined().allSatisfy(\.isNumber),
                let year = Int(parts[0]), let month = Int(parts[1]),
                (1...12).contains(month), (2000...2100).contains(year)
            else {
                throw APIError(
                    .badRequest, code: "invalid_parameter", message: "`month` must be a month like 2026-11 (years 2000 to 2100).",
                    field: "month")
            }
            components = DateComponents(year: year, month: month)
        }
        let (start, end) = OutboxTerms.month(containing: calendar.date(from: components)!)
        return (String(format: "%04d-%02d", components.year!, components.month!), start, end)
    }

    @Sendable func usage(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let (label, start, end) = try month(request)
        let figures = try await store.usage(businessID: business.id, from: start, to: end)
        let included = business.plan?.includedMessages
        let overage = included.map { max(0, figures.outboundMessages - $0) } ?? 0
        return try JSON.response(
            UsageJSON(
                month: label, plan: business.plan?.rawValue, included_messages: included, monthly_limit: business.plan?.hardLimit,
                messages_sent: figures.outboundMessages,
                segments_sent: figures.outboundSegments, messages_received: figures.inboundMessages,
                segments_received: figures.inboundSegments,
                overage_messages: overage, overage_cost_cents: min(Plan.overageCapCents, overage * Plan.overageCentsPerMessage),
                limit_reached: business.plan?.hardLimit.map { figures.outboundMessages >= $0 } ?? false))
    }

    @Sendable func deliverability(_ request: Request, context: APIContext) async throws -> Response {
        let business = try context.requireBusiness()
        let (label, start, end) = try month(request)
        let figures = try await store.deliverability(businessID: business.id, from: start, to: end)
        func rate(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 0 : (Double(part) / Double(whole) * 10_000).rounded() / 10_000 }
        return try JSON.response(
            DeliverabilityJSON(
                month: label, sent: figures.sent, delivered: figures.delivered, failed: figures.failed,
                contacts_messaged: figures.contactsMessaged, delivery_rate: rate(figures.delivered, figures.sent),
                response_rate: rate(figures.contactsResponded, figures.contactsMessaged),
                opt_out_rate: rate(figures.contactsOptedOut, figures.contactsMessaged),
                error_codes: figures.errorCodes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map {
                    ErrorCodeJSON(
                        code: $0.key, count: $0.value, meaning: providers.meaning(of: $0.key, provider: business.provider))
                }))
    }
}
