import Foundation
import Hummingbird
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// Times as a front desk reads them, in the business's time zone.
struct WebClock {
    let timeZone: TimeZone
    let now: Date

    private var locale: Locale { Locale(identifier: "en_US_POSIX") }

    func time(_ date: Date) -> String {
        date.formatted(Date.FormatStyle(date: .omitted, time: .shortened, locale: locale, timeZone: timeZone))
    }

    /// "Tue, Apr 16", with the year when it is not this year.
    func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var style = Date.FormatStyle(locale: locale, timeZone: timeZone).weekday(.abbreviated).month(.abbreviated).day()
        if calendar.component(.year, from: date) != calendar.component(.year, from: now) { style = style.year() }
        return date.formatted(style)
    }

    /// A list row's time: the time today, the weekday within a week, else the date.
    func short(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        if calendar.isDate(date, inSameDayAs: now) { return time(date) }
        if now.timeIntervalSince(date) < 6 * 86400, date <= now {
            return date.formatted(Date.FormatStyle(locale: locale, timeZone: timeZone).weekday(.abbreviated))
        }
        return date.formatted(Date.FormatStyle(locale: locale, timeZone: timeZone).month(.abbreviated).day())
    }

    func full(_ date: Date) -> String { day(date) + " " + time(date) }

    func sameDay(_ a: Date, _ b: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.isDate(a, inSameDayAs: b)
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }
}

/// A query parameter as a browser's GET form sends it: `+` is a space (Hummingbird's
/// `queryParameters` keeps it as a plus).
func formQueryValue(_ request: Request, _ name: String) -> String? {
    for pair in (request.uri.query ?? "").split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == name else { continue }
        return parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
    return nil
}

/// Paths of the pages, with the phone percent-encoded (`+` included).
enum WebPath {
    static func thread(_ phone: String) -> String { "/conversations/" + encoded(phone) }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

/// One row of the conversation list.
struct ConversationRowView {
    let phone: String
    let href: String
    let name: String
    let at: String
    let atText: String
    let unreadCount: Int
    let unread: Bool
    let preview: String
    let needsReply: Bool
    let optedOut: Bool
    let current: Bool
    let classes: String

    init(_ summary: ConversationSummary, clock: WebClock, current: Bool) {
        phone = summary.phone
        href = WebPath.thread(summary.phone)
        name = summary.name.flatMap { $0.isEmpty ? nil : $0 } ?? PhoneNumber.displayed(summary.phone)
        at = WebClock.iso(summary.lastMessageAt)
        atText = clock.short(summary.lastMessageAt)
        unreadCount = summary.unreadCount
        unread = summary.unreadCount > 0
        preview = summary.lastMessagePreview
        needsReply = summary.needsReply
        optedOut = summary.consent == .optedOut
        self.current = current
        classes =
            (["conversation"] + (unread ? ["unread"] : []) + (needsReply ? ["needs-reply"] : []) + (optedOut ? ["opted-out"] : [])
            + (current ? ["current"] : [])).joined(separator: " ")
    }
}

/// A filter chip above the list.
struct FilterChipView {
    let name: String
    let label: String
    let href: String
    let current: Bool
    /// The chip's count as shown ("3", "999+"), nil when it has none or it is zero.
    let count: String?
}

/// One item of a thread: a day separator or a message.
struct ThreadItemView {
    let day: String?
    let message: MessageView?
}

struct MessageView {
    struct Media {
        let url: String
        let image: Bool
        let label: String
    }

    struct HistoryEntry {
        let status: String
        let at: String
        let atText: String
        let errorCode: String?
    }

    let id: String
    let inbound: Bool
    let direction: String
    let body: String
    let at: String
    let atText: String
    let media: [Media]
    let status: String
    let statusLabel: String
    let history: [HistoryEntry]
    let errorHelp: String?
    let held: String?

    init(_ item: ThreadMessage, clock: WebClock, errors: (String) -> ProviderError) {
        let message = item.message
        id = message.id.map { String($0.rawValue) } ?? ""
        inbound = message.direction == .inbound
        direction = message.direction.rawValue
        body = message.body
        at = WebClock.iso(message.createdAt)
        atText = clock.time(message.createdAt)
        media = message.media.compactMap { media in
            // Only web links become links or images: a webhook's media URL is not trusted.
            guard let url = URL(string: media.url), url.scheme == "https" || url.scheme == "http" else { return nil }
            let image = media.contentType?.hasPrefix("image/") ?? false
            return Media(url: media.url, image: image, label: media.contentType ?? "attachment")
        }
        status = message.status.rawValue
        statusLabel = Self.label(message.status)
        history = item.history.map {
            HistoryEntry(
                status: Self.label($0.status), at: WebClock.iso($0.createdAt), atText: clock.full($0.createdAt), errorCode: $0.errorCode)
        }
        errorHelp = message.errorCode.map { code in
            let error = errors(code)
            return "Error \(code): \(error.meaning)." + (error.advice.map { " " + $0 } ?? "")
        }
        held = item.hold.map { hold in "Sends \(clock.full(hold.until))" + (hold.reason.map { " (\($0))" } ?? "") }
    }

    static func label(_ status: MessageStatus) -> String {
        status.rawValue.replacingOccurrences(of: "_", with: " ")
    }
}

struct AppointmentView {
    struct Action {
        let value: String
        let label: String
    }

    let id: String
    let service: String
    let at: String
    let atText: String
    let state: String
    let stateLabel: String
    let actionPath: String
    let actions: [Action]
    let hasActions: Bool

    init(_ appointment: StoredAppointment, phone: String, clock: WebClock) {
        id = appointment.id
        service = appointment.service
        at = WebClock.iso(appointment.startsAt)
        atText = clock.full(appointment.startsAt)
        state = appointment.state.rawValue
        stateLabel = appointment.state.rawValue.replacingOccurrences(of: "_", with: " ")
        actionPath = WebPath.thread(phone) + "/appointments/" + WebPath.encoded(appointment.id)
        let open = ![.cancelled, .completed, .noShow].contains(appointment.state)
        actions =
            open
            ? (appointment.state == .confirmed ? [] : [Action(value: "confirm", label: "Confirm")]) + [
                Action(value: "cancel", label: "Cancel"), Action(value: "complete", label: "Completed"),
                Action(value: "no-show", label: "No-show"),
            ] : []
        hasActions = !actions.isEmpty
    }
}

struct ConsentEntryView {
    let text: String
    let at: String
    let atText: String
}
