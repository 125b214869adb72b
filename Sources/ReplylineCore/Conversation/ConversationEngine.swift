import Foundation

/// The keyword state machine: a pure function from (contact state, inbound message, now)
/// to a `Decision`. No I/O; the store loads the snapshot and applies the decision in one
/// transaction.
public struct ConversationEngine: Sendable {
    public let rules: Rules
    let matcher: KeywordMatcher

    public init(rules: Rules) {
        self.rules = rules
        self.matcher = KeywordMatcher(rules: rules)
    }

    public func decide(_ message: InboundText, contact: ContactSnapshot, now: Date) -> Decision {
        if let providerOptOut = message.providerOptOut {
            return providerConsent(providerOptOut, contact: contact)
        }
        let text = KeywordMatcher.normalize(message.body)
        let optedOut = contact.consent == .optedOut

        if optedOut, matcher.isOptInWhileOptedOut(normalized: text) {
            return optIn(contact)
        }
        switch matcher.match(normalized: text) {
        case .keyword(.help):
            var decision = Decision(intent: .help)
            decision.replies = [render(rules.replies.help, contact: contact, appointment: nil)]
            return decision
        case .keyword(.optOut):
            return optOut(contact, source: .keyword)
        case .keyword(.optIn):
            return optIn(contact)
        case .keyword(.cancel):
            // CANCEL is a carrier opt-out word: it cancels only an appointment awaiting an answer.
            if Rules.carrierOptOutWords.contains(text), awaiting(contact, now: now) == nil {
                return optOut(contact, source: .keyword)
            }
            return act(.cancel, contact: contact, now: now)
        case .keyword(.confirm):
            return act(.confirm, contact: contact, now: now)
        case .keyword(.reschedule):
            return act(.reschedule, contact: contact, now: now)
        case .custom(let word):
            var decision = Decision(intent: .custom(word))
            if !optedOut { decision.replies = [render(rules.custom[word]!, contact: contact, appointment: nil)] }
            return decision
        case nil:
            if Self.isRevocation(text) {
                var decision = optOut(contact, source: .inferred)
                decision.staffFlag = "inferred opt-out: check the message"
                decision.needsReply = true
                return decision
            }
            return conversation(contact, now: now)
        }
    }

    // MARK: Consent

    func providerConsent(_ kind: ProviderOptOut, contact: ContactSnapshot) -> Decision {
        var decision = Decision(intent: .providerConsent)
        switch kind {
        case .stop where contact.consent != .optedOut:
            decision.consentChange = ConsentChange(to: .optedOut, source: .provider)
        case .start where contact.consent != .optedIn:
            decision.consentChange = ConsentChange(to: .optedIn, source: .provider)
        default:
            break
        }
        return decision
    }

    func optOut(_ contact: ContactSnapshot, source: ConsentSource) -> Decision {
        var decision = Decision(intent: .optOut)
        // Opt-out is sticky: the confirmation goes once, when the state changes.
        guard contact.consent != .optedOut else { return decision }
        decision.consentChange = ConsentChange(to: .optedOut, source: source)
        decision.replies = [render(rules.replies.optedOut, contact: contact, appointment: nil)]
        return decision
    }

    func optIn(_ contact: ContactSnapshot) -> Decision {
        var decision = Decision(intent: .optIn)
        if contact.consent != .optedIn { decision.consentChange = ConsentChange(to: .optedIn, source: .keyword) }
        decision.replies = [render(rules.replies.optedIn, contact: contact, appointment: nil)]
        return decision
    }

    // MARK: Appointments

    enum Action { case confirm, reschedule, cancel }

    func awaiting(_ contact: ContactSnapshot, now: Date) -> Appointment? {
        soonest(contact.upcomingAppointments, after: now) { $0 == .awaitingReply }
    }

    /// The appointment a keyword acts on: the soonest awaiting an answer, else the soonest
    /// upcoming one that is still open.
    func target(_ contact: ContactSnapshot, now: Date) -> Appointment? {
        awaiting(contact, now: now)
            ?? soonest(contact.upcomingAppointments, after: now) { $0 != .completed && $0 != .noShow }
    }

    /// The soonest appointment after `now` whose state passes `test` (a loop: no arrays).
    func soonest(_ appointments: [Appointment], after now: Date, where test: (AppointmentState) -> Bool) -> Appointment? {
        var best: Appointment?
        for appointment in appointments where appointment.startsAt > now && test(appointment.state) {
            if best.map({ appointment.startsAt < $0.startsAt }) ?? true { best = appointment }
        }
        return best
    }

    func act(_ action: Action, contact: ContactSnapshot, now: Date) -> Decision {
        let intent: Intent =
            switch action {
            case .confirm: .confirm
            case .reschedule: .reschedule
            case .cancel: .cancel
            }
        var decision = Decision(intent: intent)
        guard let appointment = target(contact, now: now) else {
            decision.replies = [render(rules.replies.noAppointment, contact: contact, appointment: nil)]
            decision.needsReply = action == .reschedule
            return send(decision, contact)
        }
        let replies = rules.replies
        let (next, template): (AppointmentState?, Template) =
            switch (action, appointment.state) {
            case (_, .cancelled) where action != .cancel: (nil, replies.appointmentClosed)
            case (.confirm, .confirmed): (nil, replies.alreadyConfirmed)
            case (.confirm, _): (.confirmed, replies.confirmed)
            case (.reschedule, .rescheduleRequested): (nil, replies.rescheduleRequested)
            case (.reschedule, _): (.rescheduleRequested, replies.rescheduleRequested)
            case (.cancel, .cancelled): (nil, replies.alreadyCancelled)
            case (.cancel, _): (.cancelled, replies.cancelled)
            }
        if let next, appointment.state.canMove(to: next) {
            decision.appointmentChange = AppointmentChange(appointmentID: appointment.id, from: appointment.state, to: next)
        }
        if action == .reschedule || (next == nil && appointment.state == .cancelled && action != .cancel) {
            decision.needsReply = true
            decision.staffFlag = action == .reschedule ? "reschedule requested" : "reply about a cancelled appointment"
        }
        decision.replies = [render(template, contact: contact, appointment: appointment)]
        return send(decision, contact)
    }

    /// Nothing but opt-out, opt-in and HELP replies ever goes to an opted-out contact.
    func send(_ decision: Decision, _ contact: ContactSnapshot) -> Decision {
        guard contact.consent == .optedOut else { return decision }
        var silent = decision
        silent.replies = []
        silent.needsReply = true
        return silent
    }

    // MARK: Conversation

    func conversation(_ contact: ContactSnapshot, now: Date) -> Decision {
        var decision = Decision(intent: .conversation)
        decision.needsReply = true
        guard contact.consent == .optedIn, let template = rules.replies.unrecognized else { return decision }
        if let last = contact.lastUnrecognizedReplyAt, now.timeIntervalSince(last) < rules.unrecognizedReplyWindow {
            return decision
        }
        decision.replies = [render(template, contact: contact, appointment: nil)]
        decision.isUnrecognizedAcknowledgement = true
        return decision
    }

    /// Free text that revokes consent in other words: "please stop texting me",
    /// "unsubscribe me", "STOP please". Read conservatively; staff review each one.
    static func isRevocation(_ normalized: String) -> Bool {
        // Every phrase below contains one of these; most messages contain none. Searched as
        // bytes: the standard library's substring search was most of a free-text decision.
        guard revocationMarkers.contains(where: { contains(normalized.utf8, $0) }) else { return false }
        let words = normalized.split(whereSeparator: { !$0.isLetter }).map(String.init)
        guard !words.isEmpty, words.count <= 12 else { return false }
        let joined = " " + words.joined(separator: " ") + " "
        let phrases = [
            " STOP TEXTING ", " STOP TEXTS ", " STOP MESSAGING ", " STOP SENDING ", " STOP CONTACTING ",
            " UNSUBSCRIBE ", " OPT ME OUT ", " REMOVE ME ", " TAKE ME OFF ", " DONT TEXT ", " DO NOT TEXT ",
            " DON T TEXT ", " NO MORE TEXTS ", " NO MORE MESSAGES ", " STOP ALL ",
        ]
        if phrases.contains(where: joined.contains) { return true }
        let polite: Set<String> = ["PLEASE", "PLS", "PLZ", "NOW", "IT", "THANKS", "THANK", "YOU", "STOP", "JUST", "OK", "OKAY"]
        return words.contains("STOP") && words.count <= 4 && words.allSatisfy(polite.contains)
    }

    // MARK: Templates

    /// Template values for this business, contact and appointment.
    public func values(contact: ContactSnapshot, appointment: Appointment?) -> [Template.Variable: String] {
        var values: [Template.Variable: String] = [:]
        for variable in Template.Variable.allCases {
            values[variable] = value(variable, contact: contact, appointment: appointment)
        }
        return values
    }

    /// One template value; dates are formatted only for templates that show them.
    func value(
        _ variable: Template.Variable, contact: ContactSnapshot, appointment: Appointment?, local: CivilTime? = nil
    ) -> String? {
        switch variable {
        case .business: return rules.business.name
        case .phone: return rules.business.phone
        case .address: return rules.business.address
        case .customerName: return appointment?.customerName ?? contact.customerName ?? "there"
        case .service: return appointment?.service
        case .date: return appointment.map { Self.format(date: local ?? CivilTime($0.startsAt, in: rules.business.timeZone)) }
        case .time: return appointment.map { Self.format(time: local ?? CivilTime($0.startsAt, in: rules.business.timeZone)) }
        case .amount:
            guard let cents = appointment?.amountCents else { return nil }
            let fraction = abs(cents % 100)
            return "$\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
        case .summary: return nil
        }
    }

    public func render(_ template: Template, contact: ContactSnapshot, appointment: Appointment?) -> String {
        // The appointment's local time is worked out once, for both [Date] and [Time].
        let local = appointment.map { CivilTime($0.startsAt, in: rules.business.timeZone) }
        return template.render { value($0, contact: contact, appointment: appointment, local: local) }
    }

    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "Tue, Dec 2" in the business's time zone; fixed English, so replies are stable.
    public func formatDate(_ date: Date) -> String {
        Self.format(date: CivilTime(date, in: rules.business.timeZone))
    }

    /// "3:30 PM" in the business's time zone.
    public func formatTime(_ date: Date) -> String {
        Self.format(time: CivilTime(date, in: rules.business.timeZone))
    }

    static func format(date local: CivilTime) -> String {
        "\(weekdays[local.weekday]), \(months[local.month - 1]) \(local.day)"
    }

    static func format(time local: CivilTime) -> String {
        let twelve = local.hour % 12 == 0 ? 12 : local.hour % 12
        return "\(twelve):\(local.minute < 10 ? "0" : "")\(local.minute) \(local.hour < 12 ? "AM" : "PM")"
    }
}

private let revocationMarkers = ["STOP", "UNSUBSCRIBE", "REMOVE", "TAKE ME OFF", "TEXT", "NO MORE", "OPT ME"].map { Array($0.utf8) }

/// True when `needle`'s bytes occur in `haystack`. By hand: the standard library's
/// `utf8.contains(needle)` made a free-text decision 40 times slower (27K/s against 1.2M/s).
private func contains(_ haystack: String.UTF8View, _ needle: [UInt8]) -> Bool {
    var found = false
    haystack.withContiguousStorageIfAvailable { bytes in
        guard bytes.count >= needle.count else { return }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            var index = 1
            while index < needle.count, bytes[start + index] == needle[index] { index += 1 }
            if index == needle.count {
                found = true
                return
            }
        }
    }
    return found
}
