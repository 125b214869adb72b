import Foundation

/// Whether an outbox message may go now: the checks made at send time, not only when the
/// message was queued. Pure: the store supplies the facts, the worker carries out the verdict.
public enum SendVerdict: Sendable, Equatable {
    case send
    /// Try again at this time (quiet hours, cadence); later messages to the contact wait too.
    case deferUntil(Date)
    /// Never send (opted out, plan exhausted, the appointment it was about has passed).
    case block(String)
}

public struct SendFacts: Sendable {
    public var consent: ConsentState
    /// The provider said the number cannot receive texts (Twilio 21211, 21614).
    public var numberInvalid: Bool
    /// Automated messages (confirmation requests, reminders, follow-ups) obey quiet hours and
    /// cadence; messages written by staff do not.
    public var isAutomated: Bool
    /// Quiet hours hold automated messages, except follow-ups the customer's own call prompted.
    public var quietHoursApply: Bool
    /// When automated messages to this contact were sent in the last `cadenceWindow`.
    public var recentAutomatedSends: [Date]
    public var sentThisMonth: Int
    public var monthlyLimit: Int?
    /// A reminder or request about an appointment starting then; pointless after it.
    public var appointmentStartsAt: Date?

    public init(
        consent: ConsentState, numberInvalid: Bool = false, isAutomated: Bool, quietHoursApply: Bool? = nil,
        recentAutomatedSends: [Date] = [], sentThisMonth: Int = 0,
        monthlyLimit: Int? = nil,
        appointmentStartsAt: Date? = nil
    ) {
        self.consent = consent
        self.numberInvalid = numberInvalid
        self.isAutomated = isAutomated
        self.quietHoursApply = quietHoursApply ?? isAutomated
        self.recentAutomatedSends = recentAutomatedSends
        self.sentThisMonth = sentThisMonth
        self.monthlyLimit = monthlyLimit
        self.appointmentStartsAt = appointmentStartsAt
    }
}

public enum SendPolicy {
    public static let cadenceLimit = 2
    public static let cadenceWindow: TimeInterval = 10 * 60

    public static func verdict(_ facts: SendFacts, business: BusinessProfile, now: Date) -> SendVerdict {
        guard facts.consent == .optedIn else { return .block("contact opted out") }
        guard !facts.numberInvalid else { return .block("the number cannot receive texts") }
        if let limit = facts.monthlyLimit, facts.sentThisMonth >= limit {
            return .block("the plan's monthly limit of \(limit) messages is reached")
        }
        guard facts.isAutomated else { return .send }
        if let starts = facts.appointmentStartsAt, starts <= now { return .block("the appointment has already started") }
        let opens = facts.quietHoursApply ? openingTime(after: now, business: business) : now
        if opens > now {
            if let starts = facts.appointmentStartsAt, opens >= starts { return .block("quiet hours last until after the appointment") }
            return .deferUntil(opens)
        }
        let recent = facts.recentAutomatedSends.filter { now.timeIntervalSince($0) < cadenceWindow }.sorted()
        if recent.count >= cadenceLimit {
            return .deferUntil(recent[recent.count - cadenceLimit].addingTimeInterval(cadenceWindow))
        }
        return .send
    }

    /// The wait before retry number `attempt` (1-based): 2 s doubling to at most 15 min,
    /// scaled by `jitter` (0.8 to 1.2, random in production) so retries do not stampede.
    public static func backoff(attempt: Int, jitter: Double) -> TimeInterval {
        min(15 * 60, 2 * pow(2, Double(max(0, attempt - 1)))) * jitter
    }

    /// `now` when the business is open, else the next opening time, in its time zone.
    public static func openingTime(after now: Date, business: BusinessProfile) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = business.timeZone
        let parts = calendar.dateComponents([.hour, .minute], from: now)
        let minute = parts.hour! * 60 + parts.minute!
        if minute >= business.opensAt && minute < business.closesAt { return now }
        let today = calendar.startOfDay(for: now)
        let day = minute < business.opensAt ? today : calendar.date(byAdding: .day, value: 1, to: today)!
        return calendar.date(bySettingHour: business.opensAt / 60, minute: business.opensAt % 60, second: 0, of: day)!
    }
}
