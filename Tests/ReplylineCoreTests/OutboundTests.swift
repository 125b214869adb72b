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

    /// Each reminder of a cleaning at `starts`, booked at `now`: its time and its text.
    func reminders(_ starts: Date, now: Date, rules: Rules = Shipped.rules) -> [(time: Date, body: String)] {
        let engine = ConversationEngine(rules: rules)
        let appointment = Appointment(id: "apt_1", service: "Cleaning", startsAt: starts, state: .awaitingReply)
        return ReminderSchedule.reminders(for: starts, now: now, rules: rules).map {
            ($0.time, engine.render($0.rule.template, contact: ContactSnapshot(), appointment: appointment))
        }
    }

    func offset(_ date: Date) -> Int { TimeZone(identifier: "America/New_York")!.secondsFromGMT(for: date) / 3600 }

    func rule(_ timing: ReminderRule.Timing, _ reply: String = "reminder") -> ReminderRule {
        ReminderRule(timing: timing, reply: reply, template: Shipped.rules.replies.reminder(named: reply)!)
    }

    @Test("The shipped rules: 24 hours before with `reminder`, and 7:00 local on the day with `reminder_same_day`")
    func shipped() {
        let starts = zoned(2026, 12, 3, 15)
        let scheduled = ReminderSchedule.reminders(for: starts, now: zoned(2026, 11, 25, 10), rules: Shipped.rules)
        #expect(scheduled.map(\.time) == [zoned(2026, 12, 2, 15), zoned(2026, 12, 3, 7)])
        #expect(scheduled.map(\.rule.reply) == ["reminder", "reminder_same_day"])
    }

    @Test("Spring forward (2027-03-14 in New York): 7:00 stays 7:00 EDT on the day, 24 hours stay 24 hours, each with its own text")
    func springForward() {
        // Sunday 2027-03-14, 02:00 EST becomes 03:00 EDT.
        let starts = zoned(2027, 3, 14, 14)
        let sunday = reminders(starts, now: zoned(2027, 3, 7, 10))
        #expect(sunday.map(\.time) == [zoned(2027, 3, 13, 13), zoned(2027, 3, 14, 7)])
        #expect(starts.timeIntervalSince(sunday[0].time) == 24 * 3600)
        #expect(sunday.map { offset($0.time) } == [-5, -4])
        #expect(
            sunday.map(\.body) == [
                "Bright Smile Dental reminder: Cleaning on Sun, Mar 14 at 2:00 PM. Reply C to confirm, R to reschedule. STOP to opt out.",
                "Bright Smile Dental: your Cleaning is today at 2:00 PM. Address: 1200 Main St, Suite 4. Reply STOP to opt out.",
            ])
        // The day after: the 24-hour reminder falls on the short day, at the same local time.
        let monday = reminders(zoned(2027, 3, 15, 9), now: zoned(2027, 3, 7, 10))
        #expect(monday.map(\.time) == [zoned(2027, 3, 14, 9), zoned(2027, 3, 15, 7)])
        #expect(monday.map { offset($0.time) } == [-4, -4])
        // A time the clocks skip on the day goes at the first one after the gap.
        var rules = Shipped.rules
        rules.reminders = [rule(.morningOf(minutes: 2 * 60 + 30), "reminder_same_day")]
        #expect(reminders(starts, now: zoned(2027, 3, 7, 10), rules: rules).map(\.time) == [zoned(2027, 3, 14, 3)])
    }

    @Test("Fall back (2027-11-07 in New York): 7:00 stays 7:00 EST on the day, 24 hours stay 24 hours, each with its own text")
    func fallBack() {
        // Sunday 2027-11-07, 02:00 EDT becomes 01:00 EST.
        let starts = zoned(2027, 11, 7, 14)
        let sunday = reminders(starts, now: zoned(2027, 10, 31, 10))
        #expect(sunday.map(\.time) == [zoned(2027, 11, 6, 15), zoned(2027, 11, 7, 7)])
        #expect(starts.timeIntervalSince(sunday[0].time) == 24 * 3600)
        #expect(sunday.map { offset($0.time) } == [-4, -5])
        #expect(
            sunday.map(\.body) == [
                "Bright Smile Dental reminder: Cleaning on Sun, Nov 7 at 2:00 PM. Reply C to confirm, R to reschedule. STOP to opt out.",
                "Bright Smile Dental: your Cleaning is today at 2:00 PM. Address: 1200 Main St, Suite 4. Reply STOP to opt out.",
            ])
        let monday = reminders(zoned(2027, 11, 8, 9), now: zoned(2027, 10, 31, 10))
        #expect(monday.map(\.time) == [zoned(2027, 11, 7, 9), zoned(2027, 11, 8, 7)])
        #expect(monday.map { offset($0.time) } == [-5, -5])
    }

    @Test("Reminders already past, or not before the start, are dropped")
    func dropped() {
        // Booked the evening before: the 24-hour reminder has passed; 7:00 is an hour before.
        let booked = ReminderSchedule.reminders(for: zoned(2026, 11, 26, 8), now: zoned(2026, 11, 25, 18), rules: Shipped.rules)
        #expect(booked.map(\.time) == [zoned(2026, 11, 26, 7)])
        #expect(booked.map(\.rule.reply) == ["reminder_same_day"])
        // Starting at 6:30: 7:00 on the day is after the start.
        let early = ReminderSchedule.reminders(for: zoned(2026, 11, 27, 6, 30), now: zoned(2026, 11, 20, 9), rules: Shipped.rules)
        #expect(early.map(\.time) == [zoned(2026, 11, 26, 6, 30)])
        // Starting at 7:00: a reminder at the start is not before it.
        let seven = ReminderSchedule.reminders(for: zoned(2026, 11, 27, 7), now: zoned(2026, 11, 20, 9), rules: Shipped.rules)
        #expect(seven.map(\.rule.reply) == ["reminder"])
    }

    @Test("Of two reminders within 30 minutes only the earlier goes, the first listed when they coincide")
    func close() {
        var rules = Shipped.rules
        rules.reminders = [rule(.hoursBefore(1)), rule(.morningOf(minutes: 7 * 60 + 45), "reminder_same_day")]
        let near = ReminderSchedule.reminders(for: zoned(2026, 12, 1, 8, 30), now: zoned(2026, 11, 25, 9), rules: rules)
        #expect(near.map(\.time) == [zoned(2026, 12, 1, 7, 30)])
        #expect(near.map(\.rule.reply) == ["reminder"])
        rules.reminders = [rule(.morningOf(minutes: 7 * 60), "reminder_same_day"), rule(.hoursBefore(1))]
        let same = ReminderSchedule.reminders(for: zoned(2026, 12, 1, 8), now: zoned(2026, 11, 25, 9), rules: rules)
        #expect(same.map(\.rule.reply) == ["reminder_same_day"])
        // Each is measured from the last one kept: 6:00 goes, 6:15 does not, 6:30 does.
        rules.reminders = [rule(.hoursBefore(3)), rule(.hoursBefore(2.75)), rule(.hoursBefore(2.5))]
        let chain = ReminderSchedule.reminders(for: zoned(2026, 12, 1, 9), now: zoned(2026, 11, 25, 9), rules: rules)
        #expect(chain.map(\.time) == [zoned(2026, 12, 1, 6), zoned(2026, 12, 1, 6, 30)])
    }

    @Test("Rules without reminders schedule none")
    func none() {
        var rules = Shipped.rules
        rules.reminders = []
        #expect(ReminderSchedule.reminders(for: zoned(2026, 12, 3, 15), now: zoned(2026, 11, 25, 10), rules: rules).isEmpty)
    }
}
