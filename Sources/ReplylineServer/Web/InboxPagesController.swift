import Foundation
import Hummingbird
import ReplylineCore
import ReplylineProviders
import ReplylineStore

/// The staff inbox's pages: the conversation list, a thread with its client card, sending,
/// appointment actions and a new message. Every route reads the signed-in business from
/// the session and finds contacts only within it: another business's phone or
/// appointment is 404.
struct InboxPagesController {
    let store: any ConversationStore
    let outbound: OutboundService
    let directory: BusinessDirectory
    let providers: ProviderRegistry
    let pages: WebPages
    let now: @Sendable () -> Date
    let makeID: @Sendable (String) -> String
    var frame: PageFrame { PageFrame(store: store, directory: directory, pages: pages) }

    static let pageSize = 50
    static let threadPageSize = 60

    func addRoutes(to group: RouterGroup<APIContext>) {
        group.get("/", use: inbox)
        group.get("conversations/{phone}", use: thread)
        group.post("conversations/{phone}/messages", use: send)
        group.post("conversations/{phone}/read", use: read)
        group.post("conversations/{phone}/appointments/{id}", use: appointmentAction)
        group.post("conversations/{phone}/appointments", use: addAppointment)
        group.get("new", use: newMessage)
        group.post("new", use: sendNew)
    }

    // MARK: Views

    struct ListView {
        var filters: [FilterChipView]
        var search: String
        var filter: String
        var rows: [ConversationRowView]
        var empty: String?
        var next: String?
        /// The counts the page's chrome shows too, read once.
        var counts: InboxCounts
    }

    struct ThreadView {
        var title: String
        var phone: String
        var phoneText: String
        var older: String?
        var items: [ThreadItemView]
        var optedOut: String?
        var composeAction: String
        var canSend: Bool
        var draft: String
        var error: String?
        var notice: String?
        var segments: String
        var quickReplies: [String]
        var hasQuickReplies: Bool
    }

    struct ClientView {
        var name: String
        var phoneText: String
        var consent: String
        var consentLabel: String
        var ledger: [ConsentEntryView]
        var appointments: [AppointmentView]
        var hasAppointments: Bool
        var newAppointmentAction: String
        var timeZone: String
    }

    struct InboxView {
        var page: PageChrome
        var list: ListView
        var thread: ThreadView?
        var client: ClientView?
    }

    struct NewMessageView {
        var page: PageChrome
        var phone: String
        var body: String
        var error: String?
        var segments: String
    }

    // MARK: Routes

    @Sendable func inbox(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        let list = try await listView(request, business: business, current: nil)
        return pages.render(
            "inbox",
            InboxView(
                page: try await frame.chrome(session, business, title: "Inbox", body: "page-inbox", section: .inbox, counts: list.counts),
                list: list))
    }

    @Sendable func thread(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        let phone = try phone(context, business)
        // A live refresh shows what changed without marking it read: staff may not be looking.
        let refresh = request.headers[.init("X-Live-Refresh")!] == "1"
        guard var summary = try await store.conversation(businessID: business.id, phone: phone) else { throw notFound() }
        // Only a thread with something unread is written to: reading one is not a write.
        if !refresh && summary.unreadCount > 0, try await store.markRead(businessID: business.id, phone: phone) {
            summary.unreadCount = 0
        }
        return try await threadPage(
            request, session: session, business: business, phone: phone, summary: summary, draft: "", error: nil, status: .ok)
    }

    /// Marks a thread read: the page's script does when a text arrives in the thread on screen.
    @Sendable func read(_ request: Request, context: APIContext) async throws -> Response {
        let (_, business) = try frame.signedIn(context)
        guard try await store.markRead(businessID: business.id, phone: try phone(context, business)) else { throw notFound() }
        return Response(status: .noContent)
    }

    struct SendForm: Decodable {
        var body: String?
    }

    @Sendable func send(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        let phone = try phone(context, business)
        guard try await store.conversation(businessID: business.id, phone: phone) != nil else { throw notFound() }
        let form = try await decodeForm(SendForm.self, request, context)
        let body = Self.formText(form.body ?? "")
        if let problem = Self.problem(with: body) {
            return try await threadPage(
                request, session: session, business: business, phone: phone, draft: body, error: problem, status: .badRequest)
        }
        do {
            _ = try await outbound.queue(.manual, body: body, to: phone, for: business)
        } catch SendRefusal.optedOut {
            return try await threadPage(
                request, session: session, business: business, phone: phone, draft: body,
                error: "Not sent: this client opted out. Texts can't be sent until they reply START.", status: .conflict)
        }
        return SignInController.redirect(WebPath.thread(phone) + "#reply")
    }

    struct AppointmentActionForm: Decodable {
        var action: String?
    }

    @Sendable func appointmentAction(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        let phone = try phone(context, business)
        let id = context.parameters.get("id").map { $0.removingPercentEncoding ?? $0 } ?? ""
        guard let (_, owner) = try await store.appointment(id: id, businessID: business.id), owner == phone else { throw notFound() }
        let form = try await decodeForm(AppointmentActionForm.self, request, context)
        let states: [String: AppointmentState] = ["confirm": .confirmed, "cancel": .cancelled, "complete": .completed, "no-show": .noShow]
        guard let state = form.action.flatMap({ states[$0] }) else {
            return try await threadPage(
                request, session: session, business: business, phone: phone, draft: "",
                error: "Choose one of the appointment's buttons: confirm, cancel, completed or no-show.", status: .badRequest)
        }
        do {
            _ = try await outbound.updateAppointment(id: id, AppointmentUpdate(state: state), for: business)
        } catch AppointmentUpdateError.invalidTransition(let from, let to) {
            return try await threadPage(
                request, session: session, business: business, phone: phone, draft: "",
                error:
                    "This appointment is \(from.rawValue.replacingOccurrences(of: "_", with: " ")) and cannot become \(to.rawValue.replacingOccurrences(of: "_", with: " ")).",
                status: .conflict)
        } catch AppointmentUpdateError.notFound {
            throw notFound()
        }
        return SignInController.redirect(WebPath.thread(phone))
    }

    struct NewAppointmentForm: Decodable {
        var starts_at: String?
        var service: String?
    }

    @Sendable func addAppointment(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        let phone = try phone(context, business)
        guard let summary = try await store.conversation(businessID: business.id, phone: phone) else { throw notFound() }
        let form = try await decodeForm(NewAppointmentForm.self, request, context)
        let service = Self.formText(form.service ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let timeZone = business.rules.business.timeZone
        guard let startsAt = Self.localTime(form.starts_at ?? "", timeZone), startsAt > now() else {
            return try await threadPage(
                request, session: session, business: business, phone: phone, draft: "",
                error: "Give the appointment a date and time in the future (\(timeZone.identifier)).", status: .badRequest)
        }
        guard !service.isEmpty, service.count <= 200, (try? APIText.check(service, field: "service", lines: .one)) != nil else {
            return try await threadPage(
                request, session: session, business: business, phone: phone, draft: "",
                error: "Name the service on one line of at most 200 characters, e.g. Cleaning.", status: .badRequest)
        }
        _ = try await outbound.createAppointment(
            NewAppointment(
                id: makeID("apt"), phone: phone, customerName: summary.name, service: service, startsAt: startsAt, amountCents: nil),
            for: business)
        return SignInController.redirect(WebPath.thread(phone))
    }

    @Sendable func newMessage(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        return pages.render(
            "new",
            NewMessageView(
                page: try await frame.chrome(session, business, title: "New message", body: "page-new", section: .newMessage), phone: "",
                body: "",
                error: nil, segments: Self.segmentsText("")))
    }

    struct NewMessageForm: Decodable {
        var phone: String?
        var body: String?
    }

    @Sendable func sendNew(_ request: Request, context: APIContext) async throws -> Response {
        let (session, business) = try frame.signedIn(context)
        let form = try await decodeForm(NewMessageForm.self, request, context)
        let rawPhone = (form.phone ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let body = Self.formText(form.body ?? "")
        func again(_ error: String, _ status: HTTPResponse.Status) async throws -> Response {
            pages.render(
                "new",
                NewMessageView(
                    page: try await frame.chrome(session, business, title: "New message", body: "page-new", section: .newMessage),
                    phone: rawPhone,
                    body: body, error: error, segments: Self.segmentsText(body)),
                status: status)
        }
        let country = business.rules.business.country
        guard let phone = PhoneNumber(rawPhone, defaultCountry: country) else {
            return try await again("`\(rawPhone.prefix(40))` is not a phone number. Use +15551234567 or a \(country) number.", .badRequest)
        }
        if let problem = Self.problem(with: body) { return try await again(problem, .badRequest) }
        do {
            _ = try await outbound.queue(.manual, body: body, to: phone.e164, for: business)
        } catch SendRefusal.optedOut {
            return try await again(
                "Not sent: \(PhoneNumber.displayed(phone.e164)) opted out. Texts can't be sent until they reply START.", .conflict)
        }
        return SignInController.redirect(WebPath.thread(phone.e164))
    }

    // MARK: Building pages

    func threadPage(
        _ request: Request, session: StaffSession, business: Business, phone: String, summary: ConversationSummary? = nil,
        draft: String, error: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let found = try await summary == nil ? store.conversation(businessID: business.id, phone: phone) : summary
        guard let summary = found else { throw notFound() }
        let before = request.uri.queryParameters["before"].flatMap { Int64(String($0)) }.map(MessageID.init)
        async let page = store.threadPage(businessID: business.id, phone: phone, limit: Self.threadPageSize, before: before, now: now())
        async let ledger = store.consentEvents(businessID: business.id, phone: phone)
        async let appointments = store.appointments(businessID: business.id, phone: phone)
        let list = try await listView(request, business: business, current: phone)
        let clock = WebClock(timeZone: business.rules.business.timeZone, now: now())
        let provider = providers[business.provider]
        let errors: (String) -> ProviderError = { code in provider?.errors(code) ?? ProviderError(meaning: "provider error \(code)") }
        var items: [ThreadItemView] = []
        var previous: Date?
        let messages = try await page?.messages ?? []
        for message in messages {
            if previous.map({ !clock.sameDay($0, message.message.createdAt) }) ?? true {
                items.append(ThreadItemView(day: clock.day(message.message.createdAt), message: nil))
            }
            previous = message.message.createdAt
            items.append(ThreadItemView(day: nil, message: MessageView(message, clock: clock, errors: errors)))
        }
        let ledgerEntries = try await ledger
        let optedOut: String? =
            summary.consent == .optedOut
            ? "Opted out"
                + (ledgerEntries.last(where: { $0.toState == .optedOut }).map { event in
                    " by \(event.source == .keyword ? "texting STOP" : event.source.rawValue) on \(clock.full(event.createdAt))"
                } ?? "") + ". Texts can't be sent until they reply START."
            : nil
        let name = summary.name.flatMap { $0.isEmpty ? nil : $0 } ?? PhoneNumber.displayed(phone)
        let thread = ThreadView(
            title: name, phone: phone, phoneText: PhoneNumber.displayed(phone),
            older: (try await page?.hasOlder ?? false)
                ? messages.first?.message.id.map { WebPath.thread(phone) + "?before=\($0.rawValue)" } : nil,
            items: items, optedOut: optedOut, composeAction: WebPath.thread(phone) + "/messages", canSend: optedOut == nil, draft: draft,
            error: error, notice: nil, segments: Self.segmentsText(draft), quickReplies: business.rules.quickReplies,
            hasQuickReplies: !business.rules.quickReplies.isEmpty)
        let client = ClientView(
            name: name, phoneText: PhoneNumber.displayed(phone), consent: summary.consent.rawValue,
            consentLabel: summary.consent == .optedOut ? "opted out" : "subscribed",
            ledger: ledgerEntries.map { event in
                ConsentEntryView(
                    text:
                        "\(event.fromState.rawValue.replacingOccurrences(of: "_", with: " ")) → \(event.toState.rawValue.replacingOccurrences(of: "_", with: " ")) (\(event.source.rawValue))",
                    at: WebClock.iso(event.createdAt), atText: clock.full(event.createdAt))
            },
            appointments: try await appointments.map { AppointmentView($0, phone: phone, clock: clock) },
            hasAppointments: try await !appointments.isEmpty, newAppointmentAction: WebPath.thread(phone) + "/appointments",
            timeZone: business.rules.business.timeZone.identifier)
        return pages.render(
            "inbox",
            InboxView(
                page: try await frame.chrome(session, business, title: name, body: "page-thread", section: .inbox, counts: list.counts),
                list: list, thread: thread,
                client: client),
            status: status)
    }

    func listView(_ request: Request, business: Business, current: String?) async throws -> ListView {
        let query = request.uri.queryParameters
        let filterName = query["filter"].map(String.init) ?? "all"
        let search = formQueryValue(request, "q")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        var filter = ConversationFilter(search: search.isEmpty ? nil : String(search.prefix(100)))
        switch filterName {
        case "unread": filter.unreadOnly = true
        case "needs-reply": filter.needsReplyOnly = true
        case "opted-out": filter.optedOutOnly = true
        default: break
        }
        let cursor = query["cursor"].flatMap { Cursor.decodeConversation(String($0)) }
        async let counts = store.inboxCounts(businessID: business.id)
        let found = try await store.conversations(businessID: business.id, filter: filter, limit: Self.pageSize + 1, after: cursor)
        let clock = WebClock(timeZone: business.rules.business.timeZone, now: now())
        let rows = found.prefix(Self.pageSize).map { ConversationRowView($0, clock: clock, current: $0.phone == current) }
        func href(_ name: String, cursor: String? = nil) -> String {
            var items = [String]()
            if name != "all" { items.append("filter=" + name) }
            if !search.isEmpty { items.append("q=" + WebPath.encoded(search)) }
            if let cursor { items.append("cursor=" + cursor) }
            return "/" + (items.isEmpty ? "" : "?" + items.joined(separator: "&"))
        }
        let current = ["all", "unread", "needs-reply", "opted-out"].contains(filterName) ? filterName : "all"
        let figures = try await counts
        let filters = [
            FilterChipView(name: "all", label: "All", href: href("all"), current: current == "all", count: nil),
            FilterChipView(
                name: "unread", label: "Unread", href: href("unread"), current: current == "unread",
                count: Self.count(figures.unreadConversations)),
            FilterChipView(
                name: "needs-reply", label: "Needs reply", href: href("needs-reply"), current: current == "needs-reply",
                count: Self.count(figures.needsReply)),
            FilterChipView(name: "opted-out", label: "Opted out", href: href("opted-out"), current: current == "opted-out", count: nil),
        ]
        var empty: String?
        if rows.isEmpty {
            if !search.isEmpty {
                empty = "No conversations match “\(search)”."
            } else if current != "all" || cursor != nil {
                empty = "Nothing here."
            } else {
                let number = business.numbers.sorted().first.map(PhoneNumber.displayed) ?? PhoneNumber.displayed(business.sendingNumber)
                empty = "No conversations yet — texts to \(number) will appear here."
            }
        }
        let next =
            found.count > Self.pageSize
            ? rows.last.map { _ in found[Self.pageSize - 1] }.map {
                href(current, cursor: Cursor.encode(ConversationCursor(lastMessageAt: $0.lastMessageAt, id: $0.id)))
            } : nil
        return ListView(filters: filters, search: search, filter: current, rows: Array(rows), empty: empty, next: next, counts: figures)
    }

    static func count(_ value: Int) -> String? { value > 0 ? InboxCounts.text(value) : nil }

    func phone(_ context: APIContext, _ business: Business) throws -> String {
        let raw = context.parameters.get("phone").map { $0.removingPercentEncoding ?? $0 } ?? ""
        guard let phone = PhoneNumber(raw, defaultCountry: business.rules.business.country) else { throw notFound() }
        return phone.e164
    }

    func notFound() -> WebPageError {
        WebPageError(
            .notFound, "There is no such conversation or appointment in this inbox. Go back to the inbox and pick one from the list.")
    }

    func decodeForm<T: Decodable>(_ type: T.Type, _ request: Request, _ context: APIContext) async throws -> T {
        var request = request
        guard let form = try await decodeWebForm(type, &request, context) else {
            throw WebPageError(.badRequest, "The form could not be read. Reload the page and try again.")
        }
        return form
    }

    /// A `datetime-local` field's value (`2026-04-18T10:00`) as a time in `timeZone`.
    static func localTime(_ text: String, _ timeZone: TimeZone) -> Date? {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == "T" || $0 == ":" }).map { Int($0) }
        guard parts.count == 5 || parts.count == 6, parts.allSatisfy({ $0 != nil }) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let components = DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4])
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }

    /// A textarea's text as sent: browsers send line breaks as CRLF.
    static func formText(_ text: String) -> String { text.replacingOccurrences(of: "\r\n", with: "\n") }

    /// What is wrong with a message body, in a sentence; nil when it can be sent.
    static func problem(with body: String) -> String? {
        if body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return "Write a message first." }
        if body.count > TwiML.maxBodyCharacters {
            return "The message is \(body.count) characters; the limit is \(TwiML.maxBodyCharacters)."
        }
        if (try? APIText.check(body, field: "body", lines: .many)) == nil {
            return "The message holds a control character. Retype it without pasted special characters."
        }
        return nil
    }

    /// The compose box's counter as the server counts: "42/160 · GSM-7 · 1 segment".
    static func segmentsText(_ body: String) -> String {
        if body.isEmpty { return "0/160 · GSM-7 · 0 segments" }
        let count = SegmentCounter.count(body)
        let single = count.encoding == .gsm7 ? 160 : 70
        let part = count.encoding == .gsm7 ? 153 : 67
        let limit = count.segments <= 1 ? single : part * count.segments
        return "\(count.units)/\(limit) · \(count.encoding.rawValue) · \(count.segments) segment\(count.segments == 1 ? "" : "s")"
    }
}

/// A page-level failure: its status and what to tell the person, shown as an HTML page.
struct WebPageError: Error {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// A page's form body (`application/x-www-form-urlencoded`), read whole up to the
/// context's limit; nil when it does not decode as `T`.
func decodeWebForm<T: Decodable>(_ type: T.Type, _ request: inout Request, _ context: APIContext) async throws -> T? {
    let body = try await request.collectBody(upTo: context.maxUploadSize)
    return try? URLEncodedFormDecoder().decode(type, from: String(buffer: body))
}

/// Turns `WebPageError` and an unreachable store into HTML pages with their status.
struct WebErrorMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let pages: WebPages

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as WebPageError {
            return pages.error(error.status, error.message)
        } catch let error as StoreUnavailable {
            var response = pages.error(
                .serviceUnavailable, "The database cannot be reached (\(error.reason)). Nothing was changed; try again in a moment.")
            response.headers[.retryAfter] = String(StoreUnavailable.retryAfterSeconds)
            return response
        }
    }
}
