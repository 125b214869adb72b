import Foundation

/// The keyword state machine: a pure function from (contact state, inbound message, now)
/// to a `Decision`. No I/O; the store loads the snapshot and applies the decision in one
/// transaction.
public struct ConversationEngine: Sendable {
    public let rules: Rules
    let matcher: KeywordMatcher
    let calendar: Calendar

    public init(rules: Rules) {
        self.rules = rules
        self.matcher = KeywordMatcher(rules: rules)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = rules.business.timeZone
        self.calendar = calendar
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
        contact.upcomingAppointments
            .filter { $0.startsAt > now && $0.state == .awaitingReply }
            .min { $0.startsAt < $1.startsAt }
    }

    /// The appointment a keyword acts on: the soonest awaiting an answer, else the soonest
    /// upcoming one that is still open.
    func target(_ contact: ContactSnapshot, now: Date) -> Appointment? {
        awaiting(contact, now: now)
            ?? contact.upcomingAppointments
            .filter { $0.startsAt > now && $0.state != .completed && $0.state != .noShow }
            .min { $0.startsAt < $1.startsAt }
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
        // Every phrase below contains one of these; most messages contain none.
        let markers = ["STOP", "UNSUBSCRIBE", "REMOVE", "TAKE ME OFF", "TEXT", "NO MORE", "OPT ME"]
        guard markers.contains(where: { normalized.contains($0) }) else { return false }
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
        var values: [Template.Variable: String] = [
            .business: rules.business.name, .phone: rules.business.phone,
            .customerName: appointment?.customerName ?? contact.customerName ?? "there",
        ]
        if let appointment {
            values[.service] = appointment.service
            values[.date] = formatDate(appointment.startsAt)
            values[.time] = formatTime(appointment.startsAt)
            if let cents = appointment.amountCents {
                values[.amount] = "$\(cents / 100).\(String(format: "%02d", abs(cents % 100)))"
            }
        }
        return values
    }

    public func render(_ template: Template, contact: ContactSnapshot, appointment: Appointment?) -> String {
        template.render(values(contact: contact, appointment: appointment))
    }

    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "Tue, Dec 2" in the business's time zone; fixed English, so replies are stable.
    public func formatDate(_ date: Date) -> String {
        let parts = calendar.dateComponents([.weekday, .month, .day], from: date)
        return "\(Self.weekdays[parts.weekday! - 1]), \(Self.months[parts.month! - 1]) \(parts.day!)"
    }

    /// "3:30 PM" in the business's time zone.
    public func formatTime(_ date: Date) -> String {
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        let hour = parts.hour!
        let twelve = hour % 12 == 0 ? 12 : hour % 12
        return "\(twelve):\(parts.minute! < 10 ? "0" : "")\(parts.minute!) \(hour < 12 ? "AM" : "PM")"
    }
}
