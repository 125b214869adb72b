import Foundation

/// Whether an outbox message may go now: the checks made at send time, not only when the
/// message was queued. Pure: the store supplies the facts, the worker carries out the verdict.
public enum SendVerdict: Sendable, Equatable {
    case send
    /// Try again at this time; later messages to the contact wait too.
    case deferUntil(Date, Hold)
    /// Never send (opted out, the number is dead, the plan is exhausted).
    case block(String)
    /// Never send: the appointment it is about no longer needs it (already answered,
    /// cancelled, moved or past). Recorded as `skipped` with the reason.
    case skip(String)
}

/// Why an automated message waits.
public enum Hold: String, Sendable, Equatable {
    /// Outside the business's `hours`, in its time zone.
    case businessHours = "business hours"
    /// At most `SendPolicy.cadenceLimit` automated messages to one contact per window.
    case cadence = "at most 2 automated messages in 10 minutes"
}

/// The appointment a confirmation request or reminder is about, as it stands when the
/// message is due: the text was written for one moment of the appointment, and it may
/// have moved on since (a `C` before opening time, a cancellation, a new time).
public struct BoundAppointment: Sendable, Equatable {
    public enum Purpose: Sendable, Equatable {
        /// "Reply C to confirm": only worth sending while no answer has come.
        case confirmationRequest
        /// Goes to confirmed appointments too (that is what it is for), not to closed ones.
        case reminder
    }

    public var purpose: Purpose
    public var state: AppointmentState
    public var startsAt: Date
    /// The start time the text names; nil for messages queued before it was recorded.
    public var writtenFor: Date?

    public init(purpose: Purpose, state: AppointmentState, startsAt: Date, writtenFor: Date?) {
        self.purpose = purpose
        self.state = state
        self.startsAt = startsAt
        self.writtenFor = writtenFor
    }

    /// Why the message would be stale at `now`, or nil when it still says the right thing.
    public func staleReason(now: Date) -> String? {
        if let writtenFor, writtenFor != startsAt { return "the appointment was moved to another time" }
        switch state {
        case .cancelled: return "the appointment was cancelled"
        case .completed: return "the appointment is completed"
        case .noShow: return "the appointment was marked no-show"
        case .rescheduleRequested: return "the customer asked to reschedule"
        case .confirmed where purpose == .confirmationRequest: return "the appointment is already confirmed"
        case .scheduled, .awaitingReply, .confirmed: break
        }
        return startsAt <= now ? "the appointment has already started" : nil
    }
}

public struct SendFacts: Sendable {
    public var consent: ConsentState
    /// A reply queued by the engine under the contact's current consent (no change came
    /// after the text it answers): the engine already chose it knowing that consent, so it
    /// goes out although the contact has opted out (the STOP confirmation, HELP's answer).
    public var isReplyUnderCurrentConsent: Bool
    /// The provider said the number cannot receive texts (Twilio 21211, 21614).
    public var numberInvalid: Bool
    /// Automated messages (confirmation requests, reminders, follow-ups) obey quiet hours and
    /// cadence; messages written by staff do not.
    public var isAutomated: Bool
    /// Quiet hours hold automated messages, except follow-ups the customer's own call
    /// prompted while it is fresh (`SendPolicy.callFollowUpWindow`).
    public var quietHoursApply: Bool
    /// When automated messages to this contact were sent in the last `cadenceWindow`.
    public var recentAutomatedSends: [Date]
    public var sentThisMonth: Int
    public var monthlyLimit: Int?
    /// A reminder or request about an appointment starting then; pointless after it.
    public var appointmentStartsAt: Date?
    /// For a confirmation request or reminder: its appointment as it stands now.
    public var appointment: BoundAppointment?

    public init(
        consent: ConsentState, isReplyUnderCurrentConsent: Bool = false, numberInvalid: Bool = false, isAutomated: Bool,
        quietHoursApply: Bool? = nil,
        recentAutomatedSends: [Date] = [], sentThisMonth: Int = 0,
        monthlyLimit: Int? = nil,
        appointmentStartsAt: Date? = nil, appointment: BoundAppointment? = nil
    ) {
        self.consent = consent
        self.isReplyUnderCurrentConsent = isReplyUnderCurrentConsent
        self.numberInvalid = numberInvalid
        self.isAutomated = isAutomated
        self.quietHoursApply = quietHoursApply ?? isAutomated
        self.recentAutomatedSends = recentAutomatedSends
        self.sentThisMonth = sentThisMonth
        self.monthlyLimit = monthlyLimit
        self.appointmentStartsAt = appointmentStartsAt ?? appointment?.startsAt
        self.appointment = appointment
    }
}

public enum SendPolicy {
    /// The words of each block, as recorded on the message: the call log tells them apart.
    public enum BlockReason {
        public static let optedOut = "contact opted out"
        public static let numberInvalid = "the number cannot receive texts"
        public static let monthlyLimit = "the plan's monthly limit"
    }

    public static let cadenceLimit = 2
    public static let cadenceWindow: TimeInterval = 10 * 60
    /// How long after a call its SMS count as a direct follow-up, which quiet hours do not
    /// hold: the customer was just on the phone.
    public static let callFollowUpWindow: TimeInterval = 10 * 60

    /// When a call's SMS is due: now while the call is live or just ended; for an event
    /// that arrives later than `callFollowUpWindow` after the call, at the next opening time
    /// (now when open), as for any automated message.
    public static func callSMSDue(endedAt: Date?, now: Date, business: BusinessProfile) -> Date {
        guard let endedAt, now.timeIntervalSince(endedAt) >= callFollowUpWindow else { return now }
        return openingTime(after: now, business: business)
    }

    public static func verdict(_ facts: SendFacts, business: BusinessProfile, now: Date) -> SendVerdict {
        guard facts.consent == .optedIn || facts.isReplyUnderCurrentConsent else { return .block(BlockReason.optedOut) }
        guard !facts.numberInvalid else { return .block(BlockReason.numberInvalid) }
        if let reason = facts.appointment?.staleReason(now: now) { return .skip(reason) }
        if let limit = facts.monthlyLimit, facts.sentThisMonth >= limit {
            return .block("\(BlockReason.monthlyLimit) of \(limit) messages is reached")
        }
        guard facts.isAutomated else { return .send }
        if let starts = facts.appointmentStartsAt, starts <= now { return .skip("the appointment has already started") }
        let opens = facts.quietHoursApply ? openingTime(after: now, business: business) : now
        if opens > now {
            if let starts = facts.appointmentStartsAt, opens >= starts { return .skip("quiet hours last until after the appointment") }
            return .deferUntil(opens, .businessHours)
        }
        let recent = facts.recentAutomatedSends.filter { now.timeIntervalSince($0) < cadenceWindow }.sorted()
        if recent.count >= cadenceLimit {
            return .deferUntil(recent[recent.count - cadenceLimit].addingTimeInterval(cadenceWindow), .cadence)
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
