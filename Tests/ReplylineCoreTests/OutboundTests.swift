import Foundation
import Testing

@testable import ReplylineCore

@Suite("Send policy")
struct SendPolicyTests {
    let business = Shipped.rules.business  // New York, 09:00-20:00

    /// A time on 2026-11-25 (New York is UTC-5 then).
    func newYork(_ hour: Int, _ minute: Int = 0, day: Int = 25) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "America/New_York")!
        return calendar.date(from: DateComponents(year: 2026, month: 11, day: day, hour: hour, minute: minute))!
    }

    @Test("An opted-out contact or a dead number is never sent to, whatever the kind")
    func blocked() {
        for automated in [true, false] {
            #expect(
                SendPolicy.verdict(SendFacts(consent: .optedOut, isAutomated: automated), business: business, now: newYork(10))
                    == .block("contact opted out"))
            #expect(
                SendPolicy.verdict(
                    SendFacts(consent: .optedIn, numberInvalid: true, isAutomated: automated), business: business, now: newYork(10))
                    == .block("the number cannot receive texts"))
        }
    }

    @Test("Automated messages wait for opening time; staff messages do not")
    func quietHours() {
        let late = newYork(21, 30)
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true), business: business, now: late)
                == .deferUntil(newYork(9, day: 26), .businessHours))
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true), business: business, now: newYork(7))
                == .deferUntil(newYork(9), .businessHours))
        #expect(SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: false), business: business, now: late) == .send)
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true, quietHoursApply: false), business: business, now: late)
                == .send)
        #expect(SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true), business: business, now: newYork(19, 59)) == .send)
    }

    @Test("A reminder that quiet hours would push past its appointment is dropped")
    func pastAppointment() {
        let facts = SendFacts(consent: .optedIn, isAutomated: true, appointmentStartsAt: newYork(8, 30))
        #expect(SendPolicy.verdict(facts, business: business, now: newYork(7)) == .skip("quiet hours last until after the appointment"))
        let started = SendFacts(consent: .optedIn, isAutomated: true, appointmentStartsAt: newYork(10))
        #expect(SendPolicy.verdict(started, business: business, now: newYork(10, 5)) == .skip("the appointment has already started"))
    }

    @Test(
        "A confirmation request is skipped once its appointment is answered, closed, moved or past",
        arguments: [
            (AppointmentState.confirmed, "the appointment is already confirmed"),
            (.rescheduleRequested, "the customer asked to reschedule"),
            (.cancelled, "the appointment was cancelled"),
            (.completed, "the appointment is completed"),
            (.noShow, "the appointment was marked no-show"),
        ])
    func staleConfirmationRequest(state: AppointmentState, reason: String) {
        let startsAt = newYork(15, day: 27)
        let bound = BoundAppointment(purpose: .confirmationRequest, state: state, startsAt: startsAt, writtenFor: startsAt)
        let facts = SendFacts(consent: .optedIn, isAutomated: true, appointment: bound)
        #expect(SendPolicy.verdict(facts, business: business, now: newYork(9)) == .skip(reason))
    }

    @Test("A confirmation request still awaiting its answer goes; one about an earlier time or a past appointment is skipped")
    func currentConfirmationRequest() {
        let startsAt = newYork(15, day: 27)
        for state in [AppointmentState.scheduled, .awaitingReply] {
            let bound = BoundAppointment(purpose: .confirmationRequest, state: state, startsAt: startsAt, writtenFor: startsAt)
            #expect(
                SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true, appointment: bound), business: business, now: newYork(9))
                    == .send)
        }
        let moved = BoundAppointment(
            purpose: .confirmationRequest, state: .awaitingReply, startsAt: startsAt, writtenFor: newYork(10, day: 26))
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true, appointment: moved), business: business, now: newYork(9))
                == .skip("the appointment was moved to another time"))
        let past = BoundAppointment(purpose: .confirmationRequest, state: .awaitingReply, startsAt: newYork(8), writtenFor: newYork(8))
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true, appointment: past), business: business, now: newYork(9))
                == .skip("the appointment has already started"))
    }

    @Test("A reminder goes to an open or confirmed appointment, never to a cancelled, completed or no-show one")
    func reminders() {
        let startsAt = newYork(15, day: 27)
        for (state, verdict) in [
            (AppointmentState.scheduled, SendVerdict.send), (.awaitingReply, .send), (.confirmed, .send),
            (.rescheduleRequested, .skip("the customer asked to reschedule")), (.cancelled, .skip("the appointment was cancelled")),
            (.completed, .skip("the appointment is completed")), (.noShow, .skip("the appointment was marked no-show")),
        ] {
            let bound = BoundAppointment(purpose: .reminder, state: state, startsAt: startsAt, writtenFor: startsAt)
            #expect(
                SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true, appointment: bound), business: business, now: newYork(9))
                    == verdict, "\(state)")
        }
    }

    @Test("Opt-out outranks staleness: a stale message to an opted-out contact is blocked for the opt-out")
    func optOutFirst() {
        let startsAt = newYork(15, day: 27)
        let bound = BoundAppointment(purpose: .reminder, state: .cancelled, startsAt: startsAt, writtenFor: startsAt)
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedOut, isAutomated: true, appointment: bound), business: business, now: newYork(9))
                == .block("contact opted out"))
    }

    @Test("At most two automated messages to a contact in ten minutes; the third waits for the window")
    func cadence() {
        let now = newYork(12)
        let two = [now.addingTimeInterval(-300), now.addingTimeInterval(-60)]
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true, recentAutomatedSends: two), business: business, now: now)
                == .deferUntil(now.addingTimeInterval(300), .cadence))
        #expect(
            SendPolicy.verdict(
                SendFacts(consent: .optedIn, isAutomated: true, recentAutomatedSends: [two[1]]), business: business, now: now) == .send)
        let old = [now.addingTimeInterval(-900), now.addingTimeInterval(-700)]
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: true, recentAutomatedSends: old), business: business, now: now)
                == .send)
        #expect(
            SendPolicy.verdict(SendFacts(consent: .optedIn, isAutomated: false, recentAutomatedSends: two), business: business, now: now)
                == .send)
    }

    @Test("The plan's monthly limit stops every kind of message")
    func monthlyLimit() {
        let facts = SendFacts(consent: .optedIn, isAutomated: false, sentThisMonth: 2_500, monthlyLimit: 2_500)
        #expect(
            SendPolicy.verdict(facts, business: business, now: newYork(12))
                == .block("the plan's monthly limit of 2500 messages is reached"))
    }

    @Test("Retries back off exponentially with jitter, capped at fifteen minutes")
    func backoff() {
        #expect(SendPolicy.backoff(attempt: 1, jitter: 1) == 2)
        #expect(SendPolicy.backoff(attempt: 4, jitter: 1) == 16)
        #expect(SendPolicy.backoff(attempt: 4, jitter: 1.2) == 16 * 1.2)
        #expect(SendPolicy.backoff(attempt: 30, jitter: 1) == 900)
    }
}

@Suite("Delivery status")
struct DeliveryStatusTests {
    @Test(
        "A status never moves backwards; the first final outcome stands; read may follow delivered",
        arguments: [
            (DeliveryStatus.queued, DeliveryStatus.sent, DeliveryStatus.sent), (.sent, .queued, .sent), (.delivered, .sent, .delivered),
            (.delivered, .failed, .delivered), (.undelivered, .delivered, .undelivered), (.delivered, .read, .read),
            (.sent, .delivered, .delivered),
            (.sending, .undelivered, .undelivered), (.accepted, .queued, .queued), (.read, .delivered, .read),
            (.sent, .partiallyDelivered, .partiallyDelivered),
        ])
    func precedence(current: DeliveryStatus, next: DeliveryStatus, expected: DeliveryStatus) {
        #expect(DeliveryStatus.advance(current, to: next) == expected)
    }
}

@Suite("Reminder schedule")
struct ReminderScheduleTests {
    func zoned(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int = 0, zone: String = "America/New_York") -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!
    }

    @Test("24 hours before and 7:00 local on the day")
    func defaults() {
        let starts = zoned(2026, 12, 3, 15)
        #expect(
            ReminderSchedule.times(for: starts, now: zoned(2026, 11, 25, 10), rules: Shipped.rules) == [
                zoned(2026, 12, 2, 15), zoned(2026, 12, 3, 7),
            ])
    }

    @Test("Across the end of daylight saving time, 7:00 stays 7:00 local and 24 hours stays 24 hours")
    func dst() {
        // Sunday 2026-11-01, 02:00 EDT becomes 01:00 EST.
        let starts = zoned(2026, 11, 1, 14)
        let times = ReminderSchedule.times(for: starts, now: zoned(2026, 10, 25, 10), rules: Shipped.rules)
        #expect(times == [zoned(2026, 10, 31, 15), zoned(2026, 11, 1, 7)])
        #expect(starts.timeIntervalSince(times[0]) == 24 * 3600)
        #expect(TimeZone(identifier: "America/New_York")!.secondsFromGMT(for: times[1]) == -5 * 3600)
    }

    @Test("Reminders already past, or after the start, are dropped; close ones are sent once")
    func dropped() {
        let starts = zoned(2026, 11, 26, 8)
        // Booked the evening before: the 24-hour reminder has passed; 7:00 is an hour before.
        #expect(ReminderSchedule.times(for: starts, now: zoned(2026, 11, 25, 18), rules: Shipped.rules) == [zoned(2026, 11, 26, 7)])
        let early = zoned(2026, 11, 27, 6, 30)
        #expect(ReminderSchedule.times(for: early, now: zoned(2026, 11, 20, 9), rules: Shipped.rules) == [zoned(2026, 11, 26, 6, 30)])
        var rules = Shipped.rules
        rules.reminderHoursBefore = 1
        rules.reminderMorningOf = 7 * 60 + 45
        #expect(
            ReminderSchedule.times(for: zoned(2026, 12, 1, 8, 30), now: zoned(2026, 11, 25, 9), rules: rules) == [zoned(2026, 12, 1, 7, 30)]
        )
    }

    @Test("Rules files can change or turn off both reminders")
    func configured() throws {
        let yaml = try String(contentsOf: Shipped.rulesURL, encoding: .utf8) + "\nreminders:\n  hours_before: 2\n  morning_of: null\n"
        let rules = try RulesLoader.load(yaml: yaml, file: "custom.yml")
        #expect(rules.reminderHoursBefore == 2)
        #expect(rules.reminderMorningOf == nil)
        #expect(throws: RulesLoadError.self) {
            try RulesLoader.load(yaml: yaml.replacingOccurrences(of: "morning_of: null", with: "morning_of: 7am"), file: "bad.yml")
        }
    }
}
