import Foundation
import Hummingbird
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// The Messages page (every outbound message, by status, failures in plain words) and the
/// Usage page (this month against the plan, deliverability, error codes, 30 days of volume).
struct ReportsPagesController {
    let store: any ConversationStore
    let providers: ProviderRegistry
    let frame: PageFrame
    let now: @Sendable () -> Date

    static let pageSize = 50

    func addRoutes(to group: RouterGroup<APIContext>) {
        group.get("messages", use: messages)
        group.get("usage", use: usage)
    }

    struct MessageRow {
        let id: String
        let href: String
        let contact: String
        let body: String
        let at: String
        let atText: String
        let status: String
        let statusLabel: String
        let reason: String?
    }

    struct MessagesView {
        let page: PageChrome
        let filters: [FilterChipView]
        let rows: [MessageRow]
        let empty: String?
        let next: String?
    }

    @Sendable func messages(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        let filter = formQueryValue(request, "status").flatMap(OutboundFilter.init(rawValue:)) ?? .all
        let before = formQueryValue(request, "before").flatMap(Int64.init).map(MessageID.init)
        let found = try await store.outboundMessages(businessID: business.id, filter: filter, limit: Self.pageSize + 1, before: before)
        let clock = WebClock(timeZone: business.rules.business.timeZone, now: now())
        let errors = errorTable(business)
        let rows = found.prefix(Self.pageSize).map { listing in
            let message = listing.message
            return MessageRow(
                id: message.id.map { String($0.rawValue) } ?? "", href: WebPath.thread(listing.phone),
                contact: listing.name.flatMap { $0.isEmpty ? nil : $0 } ?? PhoneNumber.displayed(listing.phone), body: message.body,
                at: WebClock.iso(message.createdAt), atText: clock.full(message.createdAt), status: message.status.rawValue,
                statusLabel: MessageView.label(message.status),
                reason: Self.reason(message, errors: errors))
        }
        let labels: [(OutboundFilter, String)] = [(.all, "All"), (.delivered, "Delivered"), (.pending, "Pending"), (.failed, "Failed")]
        let view = MessagesView(
            page: try await frame.chrome(session, business, title: "Messages", body: "page-messages", section: .messages),
            filters: labels.map { name, label in
                FilterChipView(
                    name: name.rawValue, label: label, href: name == .all ? "/messages" : "/messages?status=\(name.rawValue)",
                    current: name == filter, count: nil)
            },
            rows: rows, empty: rows.isEmpty ? "No messages here yet." : nil,
            next: found.count > Self.pageSize
                ? rows.last.map { "/messages?" + (filter == .all ? "" : "status=\(filter.rawValue)&") + "before=\($0.id)" } : nil)
        return frame.pages.render("messages", view)
    }

    /// Why a message did not arrive, in plain words; nil for one on its way or delivered.
    static func reason(_ message: StoredMessage, errors: (String) -> ProviderError) -> String? {
        if let code = message.errorCode {
            let error = errors(code)
            return "\(error.meaning.prefix(1).uppercased())\(error.meaning.dropFirst()) (error \(code))."
                + (error.advice.map { " " + $0 } ?? "")
        }
        switch message.status {
        case .blocked: return message.errorMessage ?? "Not sent: the client opted out or the plan's monthly limit was reached."
        case .unknown: return "Interrupted while sending: it may or may not have arrived, so it is not sent again. Check with the client."
        case .failed, .undelivered: return message.errorMessage ?? "The carrier did not deliver it and gave no reason."
        case .canceled: return "Canceled before it was sent."
        default: return nil
        }
    }

    func errorTable(_ business: Business) -> (String) -> ProviderError {
        let provider = providers[business.provider]
        return { code in provider?.errors(code) ?? ProviderError(meaning: "provider error \(code)") }
    }

    struct Figure {
        let label: String
        let value: String
    }

    struct Bar {
        let x: Int
        let y: Int
        let height: Int
        let label: String
        let tick: String?
    }

    struct ErrorRow {
        let code: String
        let count: Int
        let meaning: String
    }

    struct UsageView {
        let page: PageChrome
        let month: String
        let figures: [Figure]
        let rates: [Figure]
        let bars: [Bar]
        let chartLabel: String
        let chartMax: Int
        let errors: [ErrorRow]
        let noErrors: Bool
    }

    @Sendable func usage(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        let at = now()
        let (start, end) = OutboxTerms.month(containing: at)
        async let usage = store.usage(businessID: business.id, from: start, to: end)
        async let deliverability = store.deliverability(businessID: business.id, from: start, to: end)
        let clock = WebClock(timeZone: business.rules.business.timeZone, now: at)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = business.rules.business.timeZone
        let today = calendar.startOfDay(for: at)
        let first = calendar.date(byAdding: .day, value: -29, to: today)!
        let volume = try await store.messageVolume(
            businessID: business.id, from: first, to: calendar.date(byAdding: .day, value: 1, to: today)!)
        var perDay = [Int](repeating: 0, count: 30)
        for quarter in volume {
            let day = calendar.dateComponents([.day], from: first, to: calendar.startOfDay(for: quarter.quarterHour)).day ?? -1
            if perDay.indices.contains(day) { perDay[day] += quarter.inbound + quarter.outbound }
        }
        let most = max(perDay.max() ?? 0, 1)
        let bars = perDay.enumerated().map { index, count in
            let date = calendar.date(byAdding: .day, value: index, to: first)!
            let height = Int((Double(count) / Double(most) * 100).rounded())
            return Bar(
                x: index * 20, y: 115 - height, height: height, label: "\(clock.day(date)): \(count) message\(count == 1 ? "" : "s")",
                tick: index % 7 == 0 ? date.formatted(.dateTime.month(.abbreviated).day().locale(Locale(identifier: "en_US_POSIX"))) : nil)
        }
        let figures = try await usage
        let delivery = try await deliverability
        let included = business.plan?.includedMessages
        let overage = included.map { max(0, figures.outboundMessages - $0) } ?? 0
        func rate(_ part: Int, _ whole: Int) -> String {
            whole == 0 ? "—" : (Double(part) / Double(whole)).formatted(.percent.precision(.fractionLength(1)))
        }
        let month = start.formatted(
            Date.FormatStyle(locale: Locale(identifier: "en_US_POSIX"), timeZone: TimeZone(identifier: "UTC")!).month(.wide).year())
        let errorTable = errorTable(business)
        let errors = delivery.errorCodes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map {
            ErrorRow(code: $0.key, count: $0.value, meaning: errorTable($0.key).meaning)
        }
        var usageFigures = [
            Figure(
                label: "Messages sent",
                value: "\(figures.outboundMessages)" + (included.map { " of \($0) included" } ?? " (no plan limit)")),
            Figure(label: "Segments sent", value: "\(figures.outboundSegments)"),
            Figure(label: "Messages received", value: "\(figures.inboundMessages)"),
        ]
        if let plan = business.plan {
            let cents = min(Plan.overageCapCents, overage * Plan.overageCentsPerMessage)
            usageFigures.append(
                Figure(
                    label: "Overage so far",
                    value: "\(overage) message\(overage == 1 ? "" : "s"), "
                        + (Double(cents) / 100).formatted(.currency(code: "USD").locale(Locale(identifier: "en_US")))
                        + " (plan \(plan.rawValue))"))
            if let limit = plan.hardLimit {
                usageFigures.append(
                    Figure(
                        label: "Monthly limit", value: figures.outboundMessages >= limit ? "\(limit), reached: sends are held" : "\(limit)")
                )
            }
        }
        let view = UsageView(
            page: try await frame.chrome(session, business, title: "Usage", body: "page-usage", section: .usage), month: month,
            figures: usageFigures,
            rates: [
                Figure(label: "Delivered", value: rate(delivery.delivered, delivery.sent)),
                Figure(label: "Clients who answered", value: rate(delivery.contactsResponded, delivery.contactsMessaged)),
                Figure(label: "Clients who opted out", value: rate(delivery.contactsOptedOut, delivery.contactsMessaged)),
            ],
            bars: bars,
            chartLabel: "Messages per day, last 30 days: \(perDay.reduce(0, +)) in all, at most \(perDay.max() ?? 0) a day",
            chartMax: perDay.max() ?? 0, errors: errors, noErrors: errors.isEmpty)
        return frame.pages.render("usage", view)
    }
}
