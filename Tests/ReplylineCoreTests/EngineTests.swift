import Foundation
import Testing

@testable import ReplylineCore

@Suite("Keyword normalization")
struct NormalizationTests {
    @Test(
        "Case, surrounding space, punctuation, emoji and full-width forms fold away",
        arguments: [
            ("stop", "STOP"), ("  Stop!! ", "STOP"), ("ＳＴＯＰ", "STOP"), ("STOP 🛑", "STOP"), ("🙏 c 🙏", "C"),
            ("\"Yes.\"", "YES"), ("stop   all", "STOP ALL"), ("opt-out", "OPT-OUT"), ("👍🏽", ""), ("arrêt", "ARRÊT"),
            ("\u{200B}help\u{FE0F}", "HELP"), ("Confirm\n", "CONFIRM"),
        ])
    func normalizes(input: String, expected: String) {
        #expect(KeywordMatcher.normalize(input) == expected)
    }
}

@Suite("Conversation engine")
struct EngineTests {
    let engine = Shipped.engine
    let now = Date.noon

    func appointment(_ state: AppointmentState, inHours hours: Double = 48, id: String = "apt_1") -> Appointment {
        Appointment(id: id, customerName: "Ana", service: "Teeth cleaning", startsAt: now.addingTimeInterval(hours * 3600), state: state)
    }

    @Test(
        "Every opt-out word opts out with one confirmation",
        arguments: [
            "STOP", "stopall", "Stop All", "UNSUBSCRIBE", "end", "quit", "REVOKE", "optout", "opt out", "OPT-OUT", "remove", "ARRET",
        ])
    func optOut(word: String) {
        let decision = engine.decide(InboundText(body: word), contact: ContactSnapshot(), now: now)
        #expect(decision.intent == .optOut)
        #expect(decision.consentChange == ConsentChange(to: .optedOut, source: .keyword))
        #expect(decision.replies.count == 1)
        #expect(decision.replies[0].contains("unsubscribed"))
    }

    @Test("A second STOP from an opted-out contact gets nothing")
    func stickyOptOut() {
        let decision = engine.decide(InboundText(body: "STOP"), contact: ContactSnapshot(consent: .optedOut), now: now)
        #expect(decision.replies.isEmpty)
        #expect(decision.consentChange == nil)
    }

    @Test("START, UNSTOP and YES opt an opted-out contact back in", arguments: ["START", "unstop", "yes"])
    func optIn(word: String) {
        let decision = engine.decide(InboundText(body: word), contact: ContactSnapshot(consent: .optedOut), now: now)
        #expect(decision.intent == .optIn)
        #expect(decision.consentChange == ConsentChange(to: .optedIn, source: .keyword))
        #expect(decision.replies.first?.contains("resubscribed") == true)
    }

    @Test("YES from an opted-in contact confirms instead")
    func yesConfirms() {
        let decision = engine.decide(
            InboundText(body: "Yes"), contact: ContactSnapshot(upcomingAppointments: [appointment(.awaitingReply)]), now: now)
        #expect(decision.intent == .confirm)
        #expect(decision.appointmentChange?.to == .confirmed)
    }

    @Test("HELP is answered with the required parts, even while opted out", arguments: [ConsentState.optedIn, .optedOut])
    func help(consent: ConsentState) {
        let decision = engine.decide(InboundText(body: "help"), contact: ContactSnapshot(consent: consent), now: now)
        #expect(decision.intent == .help)
        let reply = try! #require(decision.replies.first)
        #expect(reply.contains("Bright Smile Dental"))
        #expect(reply.contains("Msg&data rates may apply"))
        #expect(reply.contains("STOP"))
        #expect(reply.contains("(555) 010-4477"))
    }

    @Test("C confirms the appointment awaiting an answer and names it", arguments: ["C", "confirm", "y", "YES"])
    func confirm(word: String) {
        let decision = engine.decide(
            InboundText(body: word), contact: ContactSnapshot(upcomingAppointments: [appointment(.awaitingReply)]), now: now)
        #expect(decision.appointmentChange == AppointmentChange(appointmentID: "apt_1", from: .awaitingReply, to: .confirmed))
        #expect(decision.replies == ["Thanks Ana, your Teeth cleaning on Fri, Nov 27 at 10:00 AM is confirmed. See you then!"])
    }

    @Test("Confirming twice is idempotent")
    func confirmTwice() {
        let decision = engine.decide(
            InboundText(body: "C"), contact: ContactSnapshot(upcomingAppointments: [appointment(.confirmed)]), now: now)
        #expect(decision.appointmentChange == nil)
        #expect(decision.replies.first?.contains("already confirmed") == true)
    }

    @Test("The soonest appointment awaiting an answer wins over a sooner confirmed one")
    func choosesAwaiting() {
        let contact = ContactSnapshot(upcomingAppointments: [
            appointment(.confirmed, inHours: 24, id: "soon"), appointment(.awaitingReply, inHours: 96, id: "later"),
            appointment(.awaitingReply, inHours: 72, id: "middle"),
        ])
        #expect(engine.decide(InboundText(body: "C"), contact: contact, now: now).appointmentChange?.appointmentID == "middle")
    }

    @Test("Past appointments are not acted on")
    func past() {
        let decision = engine.decide(
            InboundText(body: "C"), contact: ContactSnapshot(upcomingAppointments: [appointment(.awaitingReply, inHours: -2)]), now: now)
        #expect(decision.appointmentChange == nil)
        #expect(decision.replies.first?.contains("couldn't find an upcoming appointment") == true)
    }

    @Test("A cancelled appointment cannot be confirmed by C")
    func cancelledStaysCancelled() {
        let decision = engine.decide(
            InboundText(body: "C"), contact: ContactSnapshot(upcomingAppointments: [appointment(.cancelled)]), now: now)
        #expect(decision.appointmentChange == nil)
        #expect(decision.needsReply)
    }

    @Test("R asks for a new time and flags the conversation for staff")
    func reschedule() {
        let decision = engine.decide(
            InboundText(body: "r"), contact: ContactSnapshot(upcomingAppointments: [appointment(.awaitingReply)]), now: now)
        #expect(decision.appointmentChange?.to == .rescheduleRequested)
        #expect(decision.needsReply)
        #expect(decision.staffFlag != nil)
    }

    @Test("CANCEL cancels the appointment awaiting an answer")
    func cancelAppointment() {
        let decision = engine.decide(
            InboundText(body: "CANCEL"), contact: ContactSnapshot(upcomingAppointments: [appointment(.awaitingReply)]), now: now)
        #expect(decision.appointmentChange?.to == .cancelled)
        #expect(decision.consentChange == nil)
    }

    @Test("CANCEL with nothing awaiting an answer opts out", arguments: [[], [AppointmentState.confirmed]])
    func cancelOptsOut(states: [AppointmentState]) {
        let contact = ContactSnapshot(upcomingAppointments: states.map { appointment($0) })
        let decision = engine.decide(InboundText(body: "cancel"), contact: contact, now: now)
        #expect(decision.intent == .optOut)
        #expect(decision.consentChange?.to == .optedOut)
    }

    @Test("X is not a carrier word: it cancels the soonest open appointment")
    func xCancels() {
        let decision = engine.decide(
            InboundText(body: "x"), contact: ContactSnapshot(upcomingAppointments: [appointment(.confirmed)]), now: now)
        #expect(decision.appointmentChange?.to == .cancelled)
    }

    @Test(
        "Free-text revocations opt out as inferred and are flagged",
        arguments: ["please stop texting me", "Unsubscribe me", "stop!!!", "STOP please", "stop it now", "Take me off your list"])
    func inferred(text: String) {
        let decision = engine.decide(InboundText(body: text), contact: ContactSnapshot(), now: now)
        #expect(decision.consentChange == ConsentChange(to: .optedOut, source: text == "stop!!!" ? .keyword : .inferred))
        if text != "stop!!!" { #expect(decision.staffFlag != nil) }
    }

    @Test(
        "Questions that merely mention stopping stay conversation",
        arguments: ["Where do I stop to park?", "Can the bus stop near you?", "I can't stop smiling after my cleaning, thanks!"])
    func notRevocation(text: String) {
        #expect(engine.decide(InboundText(body: text), contact: ContactSnapshot(), now: now).intent == .conversation)
    }

    @Test("Free text is acknowledged at most once per window, never to an opted-out contact")
    func unrecognized() {
        let first = engine.decide(InboundText(body: "Is parking free?"), contact: ContactSnapshot(), now: now)
        #expect(first.isUnrecognizedAcknowledgement)
        #expect(first.replies.count == 1)
        #expect(first.needsReply)
        let again = engine.decide(
            InboundText(body: "Hello?"), contact: ContactSnapshot(lastUnrecognizedReplyAt: now.addingTimeInterval(-60)), now: now)
        #expect(again.replies.isEmpty)
        #expect(again.needsReply)
        let nextDay = engine.decide(
            InboundText(body: "Hello?"), contact: ContactSnapshot(lastUnrecognizedReplyAt: now.addingTimeInterval(-25 * 3600)), now: now)
        #expect(nextDay.replies.count == 1)
        let optedOut = engine.decide(InboundText(body: "Hello?"), contact: ContactSnapshot(consent: .optedOut), now: now)
        #expect(optedOut.replies.isEmpty)
    }

    @Test("A custom keyword answers with its template")
    func custom() {
        let decision = engine.decide(InboundText(body: "Hours?"), contact: ContactSnapshot(), now: now)
        #expect(decision.intent == .custom("HOURS"))
        #expect(decision.replies == ["Bright Smile Dental is open Mon-Fri 8am-6pm and Sat 9am-1pm. Call (555) 010-4477 to book."])
    }

    @Test("The provider's own opt-out handling records consent and sends nothing")
    func providerOptOut() {
        let stop = engine.decide(InboundText(body: "STOP", providerOptOut: .stop), contact: ContactSnapshot(), now: now)
        #expect(stop.consentChange == ConsentChange(to: .optedOut, source: .provider))
        #expect(stop.replies.isEmpty)
        let start = engine.decide(
            InboundText(body: "START", providerOptOut: .start), contact: ContactSnapshot(consent: .optedOut), now: now)
        #expect(start.consentChange == ConsentChange(to: .optedIn, source: .provider))
        #expect(start.replies.isEmpty)
        let help = engine.decide(InboundText(body: "HELP", providerOptOut: .help), contact: ContactSnapshot(), now: now)
        #expect(help.consentChange == nil)
        #expect(help.replies.isEmpty)
    }

    @Test("No sequence of messages sends an opted-out contact anything but opt-in and HELP replies")
    func optOutWins() {
        let words = [
            "C", "R", "X", "CANCEL", "HOURS", "hello", "STOP", "yes", "START", "HELP", "please stop texting me", "unstop", "what?",
        ]
        var generator = SplitMix(seed: 7)
        for _ in 0..<300 {
            var contact = ContactSnapshot(upcomingAppointments: [
                appointment(.awaitingReply), appointment(.scheduled, inHours: 100, id: "apt_2"),
            ])
            for _ in 0..<12 {
                let word = words[Int(generator.next() % UInt64(words.count))]
                let decision = engine.decide(InboundText(body: word), contact: contact, now: now)
                if contact.consent == .optedOut, !decision.replies.isEmpty {
                    #expect(decision.intent == .optIn || decision.intent == .help, "\(word) answered an opted-out contact")
                }
                if let change = decision.consentChange { contact.consent = change.to }
                if let change = decision.appointmentChange,
                    let index = contact.upcomingAppointments.firstIndex(where: { $0.id == change.appointmentID })
                {
                    contact.upcomingAppointments[index].state = change.to
                }
                if decision.isUnrecognizedAcknowledgement { contact.lastUnrecognizedReplyAt = now }
            }
        }
    }
}

/// A small deterministic generator for property-style tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Appointment states")
struct AppointmentStateTests {
    @Test("Open states move anywhere but back to scheduled; closed states are final", arguments: AppointmentState.allCases)
    func transitions(from: AppointmentState) {
        for to in AppointmentState.allCases {
            let expected = [.scheduled, .awaitingReply, .confirmed, .rescheduleRequested].contains(from) && to != from && to != .scheduled
            #expect(from.canMove(to: to) == expected, "\(from.rawValue) -> \(to.rawValue)")
        }
    }

    @Test("Keywords never act on completed or no-show appointments", arguments: [AppointmentState.completed, .noShow], ["C", "R", "X"])
    func closed(state: AppointmentState, word: String) {
        let appointment = Appointment(id: "a", service: "Cleaning", startsAt: Date.noon.addingTimeInterval(3600), state: state)
        let decision = Shipped.engine.decide(
            InboundText(body: word), contact: ContactSnapshot(upcomingAppointments: [appointment]), now: Date.noon)
        #expect(decision.appointmentChange == nil)
        #expect(decision.replies.first?.contains("couldn't find an upcoming appointment") == true)
    }
}
