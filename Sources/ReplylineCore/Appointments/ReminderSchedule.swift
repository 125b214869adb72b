import Foundation

/// When an appointment's reminders go out: a number of hours before it (24 by default) and
/// at a time on the morning of its day (7:00 local by default), in the business's time
/// zone, so "7:00" stays 7:00 across daylight-saving changes. Reminders already past, or
/// not before the appointment, are dropped; two that coincide are sent once.
public enum ReminderSchedule {
    public static func times(for startsAt: Date, now: Date, rules: Rules) -> [Date] {
        var times: [Date] = []
        if let hours = rules.reminderHoursBefore, hours > 0 {
            times.append(startsAt.addingTimeInterval(-hours * 3600))
        }
        if let minutes = rules.reminderMorningOf {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = rules.business.timeZone
            let day = calendar.startOfDay(for: startsAt)
            if let morning = calendar.date(bySettingHour: minutes / 60, minute: minutes % 60, second: 0, of: day) {
                times.append(morning)
            }
        }
        let upcoming = times.filter { $0 > now && $0 < startsAt }.sorted()
        return upcoming.enumerated().filter { index, time in index == 0 || time.timeIntervalSince(upcoming[index - 1]) >= 30 * 60 }.map(
            \.element)
    }
}
