import Foundation

/// A reminder of one appointment: when it goes, and the rule (with its reply) it comes from.
public struct ScheduledReminder: Sendable, Hashable {
    public var time: Date
    public var rule: ReminderRule

    public init(time: Date, rule: ReminderRule) {
        self.time = time
        self.rule = rule
    }
}

/// When an appointment's reminders go out, from the rules' `reminders:` (24 hours before
/// with `reminder` and 7:00 local on the day by default). A time on the day is in the
/// business's time zone, so "7:00" stays 7:00 across daylight-saving changes; hours before
/// are elapsed hours. Reminders already past, or not before the appointment, are dropped;
/// of two within 30 minutes only the earlier is sent (the first listed, when they coincide).
public enum ReminderSchedule {
    /// Of two reminders closer than this, only the earlier goes.
    public static let minimumGap: TimeInterval = 30 * 60

    /// The reminders of an appointment starting at `startsAt`, booked or moved at `now`, earliest first.
    public static func reminders(for startsAt: Date, now: Date, rules: Rules) -> [ScheduledReminder] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = rules.business.timeZone
        let candidates = rules.reminders.compactMap { rule -> ScheduledReminder? in
            switch rule.timing {
            case .hoursBefore(let hours):
                return ScheduledReminder(time: startsAt.addingTimeInterval(-hours * 3600), rule: rule)
            case .morningOf(let minutes):
                let day = calendar.startOfDay(for: startsAt)
                return calendar.date(bySettingHour: minutes / 60, minute: minutes % 60, second: 0, of: day).map {
                    ScheduledReminder(time: $0, rule: rule)
                }
            }
        }
        // Sorted by time, ties in file order (the index), then each kept only clear of the last kept.
        let upcoming = candidates.enumerated().filter { $0.element.time > now && $0.element.time < startsAt }
            .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        var kept: [ScheduledReminder] = []
        for reminder in upcoming where kept.last.map({ reminder.time.timeIntervalSince($0.time) >= minimumGap }) ?? true {
            kept.append(reminder)
        }
        return kept
    }
}
