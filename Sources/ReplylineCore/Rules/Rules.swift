import Foundation

/// The intents a keyword list can name in a rules file.
public enum KeywordIntent: String, Sendable, CaseIterable, Hashable {
    case confirm
    case reschedule
    case cancel
    case optOut = "opt_out"
    case optIn = "opt_in"
    case help
}

/// A business's profile: who it is, where, and when it may text.
public struct BusinessProfile: Sendable, Hashable {
    public var name: String
    public var phone: String
    public var timeZone: TimeZone
    /// ISO 3166 alpha-2 country for numbers typed without a country code.
    public var country: String
    /// The provider numbers (E.164) this business receives on; empty means any number.
    public var numbers: [String]
    /// Opening hours in minutes after local midnight; automated sends wait outside them.
    public var opensAt: Int
    public var closesAt: Int
    /// The street address customers come to, for `[Address]`; nil when the rules give none.
    public var address: String?
}

/// Every reply the engine can send, as parsed templates.
public struct ReplyTemplates: Sendable, Hashable {
    public var confirmed: Template
    public var alreadyConfirmed: Template
    public var rescheduleRequested: Template
    public var cancelled: Template
    public var alreadyCancelled: Template
    /// A keyword aimed at an appointment that can no longer change (cancelled, completed).
    public var appointmentClosed: Template
    public var noAppointment: Template
    public var optedOut: Template
    public var optedIn: Template
    public var help: Template
    /// The acknowledgement of free text; nil sends none.
    public var unrecognized: Template?
    /// The message sent when an appointment is created, asking for C or R.
    public var confirmationRequest: Template
    public var reminder: Template
    /// The other reminder replies (`reminder_same_day`), by key, for `reminders:` to name.
    public var otherReminders: [String: Template] = [:]
    /// The follow-up after a phone call (`POST /api/v1/events/call-completed`); may use [Summary].
    public var postCall: Template?

    /// The YAML key of each reply, with whether a rules file must give it.
    public static let keys: [(key: String, required: Bool)] = [
        ("confirmed", true), ("already_confirmed", true), ("reschedule_requested", true),
        ("cancelled", true), ("already_cancelled", true), ("appointment_closed", true),
        ("no_appointment", true), ("opted_out", true), ("opted_in", true), ("help", true),
        ("unrecognized", false), ("confirmation_request", true), ("reminder", true), ("post_call", false),
    ]

    /// The reminder reply with `key` (`reminder` or a `reminder_<word>` key), if the rules have it.
    public func reminder(named key: String) -> Template? {
        key == "reminder" ? reminder : otherReminders[key]
    }

    /// Whether `key` can name a reminder reply: `reminder`, or `reminder_` and a word in
    /// lower case (`reminder_same_day`).
    public static func isReminderKey(_ key: String) -> Bool {
        guard key != "reminder" else { return true }
        guard key.hasPrefix("reminder_") else { return false }
        let word = key.dropFirst("reminder_".count)
        return !word.isEmpty && word.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}

/// One reminder the rules schedule for every appointment: when it goes, and which reply it sends.
public struct ReminderRule: Sendable, Hashable, CustomStringConvertible {
    public enum Timing: Sendable, Hashable, CustomStringConvertible {
        /// This many hours before the appointment (elapsed hours, whatever the clocks do).
        case hoursBefore(Double)
        /// At this local time, in minutes after midnight, on the appointment's day.
        case morningOf(minutes: Int)

        public var description: String {
            switch self {
            case .hoursBefore(let hours):
                let number = hours == hours.rounded() ? String(Int(hours)) : String(hours)
                return "\(number) hour\(hours == 1 ? "" : "s") before"
            case .morningOf(let minutes):
                let clock = [minutes / 60, minutes % 60].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
                return "at \(clock) on the day"
            }
        }
    }

    public var timing: Timing
    /// The reply's key under `replies:` (`reminder`, `reminder_same_day`).
    public var reply: String
    public var template: Template

    public init(timing: Timing, reply: String, template: Template) {
        self.timing = timing
        self.reply = reply
        self.template = template
    }

    /// "24 hours before (replies.reminder)".
    public var description: String { "\(timing) (replies.\(reply))" }
}

/// A business's rules: its profile, its keyword lists and its replies, as loaded from one
/// `Rules/*.yml` file. Built by `RulesLoader`, which checks everything up front.
public struct Rules: Sendable {
    public var source: String
    public var business: BusinessProfile
    /// Upper-cased, normalized keyword spellings per intent.
    public var keywords: [KeywordIntent: [String]]
    /// Words that opt a contact back in only while opted out (`YES` by default); they may
    /// also be confirm words.
    public var optInWhileOptedOut: [String]
    /// Custom keyword (normalized) to its reply.
    public var custom: [String: Template]
    public var replies: ReplyTemplates
    /// The `unrecognized` acknowledgement goes out at most once per contact per window.
    public var unrecognizedReplyWindow: TimeInterval
    /// The line of each setting in the file (`replies.help`, `keywords.cancel`, `custom.HOURS`),
    /// so the linter can point at it.
    public var lines: [String: Int] = [:]
    /// The reminders each appointment gets, in the order the rules file gives them
    /// (`reminders:`); empty sends none.
    public var reminders: [ReminderRule] = []
    /// Settings (`keywords.cancel`) whose lint warnings the business has accepted on
    /// purpose (`lint: {accept: [...]}`): still shown, as notes, but not counted.
    public var acceptedWarnings: Set<String> = []
    /// Texts staff send often, offered beside the web inbox's reply box (`quick_replies:`).
    public var quickReplies: [String] = []
    /// The SMS actions voice agents may send, by name (`actions:`).
    public var actions: [String: SMSAction] = [:]
    /// The voice agents and the actions each may send, by name (`agents:`).
    public var agents: [String: VoiceAgent] = [:]

    /// Words carriers treat as opt-out whatever a business means by them.
    public static let carrierOptOutWords: Set<String> = [
        "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT",
        "OPT OUT", "OPT-OUT", "REMOVE", "ARRET",
    ]
}
