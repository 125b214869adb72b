import Foundation
import Testing

@testable import ReplylineCore

/// SMS actions and voice agents: parsing, binding and rendering, all without a server.
@Suite("Voice-agent SMS actions")
struct CallActionTests {
    static let actions = """

        actions:
          sms_confirmation:
            kind: post_call
            description: "The caller booked."
            message: "Hi <customer_name>, your appointment with <doctor> is confirmed for <appointment_date>. [Business], call [Phone]. Bye <customer_name>."
          sms_directions:
            kind: in_call
            message: "[Business] is at 1200 Main St."
        agents:
          front_desk:
            actions:
              sms_confirmation:
                customer_name: {from: name}
                appointment_date: {from: appointment_date}
                doctor: {fixed: "Dr. Lee"}
              sms_directions:
        """

    static func rules(_ extra: String = actions) throws -> Rules {
        try RulesLoader.load(yaml: RulesLoaderTests.valid + extra, file: "salon.yml")
    }

    func errors(_ extra: String) -> [String] {
        RulesLoaderTests().errors(RulesLoaderTests.valid + extra).map(\.description)
    }

    @Test("Every distinct <name> of an action's message is an input, in order of first use; [Business] stays the business's")
    func inputs() throws {
        let template = try ActionTemplate("Hi <customer_name>, <doctor> sees you <date>. [Business]. Bye <customer_name>, 3 < 4 > 2 [sic")
        #expect(template.inputs == ["customer_name", "doctor", "date"])
        let text = template.render(inputs: ["customer_name": "Ana", "doctor": "Dr. Lee", "date": "Fri"]) { $0 == .business ? "Salon" : nil }
        #expect(text == "Hi Ana, Dr. Lee sees you Fri. Salon. Bye Ana, 3 < 4 > 2 [sic")
    }

    @Test(
        "A [Variable] that needs an appointment cannot be in an action", arguments: ["[Service]", "[CustomerName]", "[Summary]", "[Nope]"])
    func appointmentVariables(_ variable: String) {
        #expect(throws: ActionTemplate.UnusableVariable(name: variable)) { try ActionTemplate("Your \(variable) is booked.") }
    }

    @Test("Actions and agents load with their kinds, classes and bindings")
    func loads() throws {
        let rules = try Self.rules()
        let confirmation = try #require(rules.actions["sms_confirmation"])
        #expect(confirmation.kind == .postCall)
        #expect(confirmation.messageClass == .transactional)
        #expect(confirmation.description == "The caller booked.")
        #expect(rules.actions["sms_directions"]?.kind == .inCall)
        let agent = try #require(rules.agents["front_desk"])
        #expect(agent.actions["sms_confirmation"]?["doctor"] == .fixed("Dr. Lee"))
        #expect(agent.actions["sms_confirmation"]?["customer_name"] == .variable("name"))
        #expect(agent.actions["sms_directions"] == [:])
    }

    @Test("An input left unbound is an error naming the agent, the action and the input")
    func unbound() {
        let yaml = Self.actions.replacingOccurrences(of: "        doctor: {fixed: \"Dr. Lee\"}\n", with: "")
        let found = errors(yaml)
        #expect(found.count == 1)
        #expect(found.first?.contains("agent `front_desk`, action `sms_confirmation`: input <doctor> is not bound") == true)
        #expect(found.first?.contains("salon.yml:") == true)
    }

    @Test("Mistakes in actions and agents are each reported with a fix")
    func mistakes() {
        let cases: [(String, String)] = [
            (Self.actions.replacingOccurrences(of: "kind: in_call", with: "kind: during"), "unknown kind `during`"),
            (Self.actions.replacingOccurrences(of: "    kind: in_call\n", with: ""), "action `sms_directions` needs a `kind`"),
            (Self.actions.replacingOccurrences(of: "is at 1200", with: "does [Service] at 1200"), "[Service] in action `sms_directions`"),
            (Self.actions + "\n      sms_missing:", "unknown action `sms_missing`"),
            (Self.actions.replacingOccurrences(of: "{fixed: \"Dr. Lee\"}", with: "Dr. Lee"), "<doctor> must be `{from: variable}`"),
            (
                Self.actions.replacingOccurrences(of: "is at 1200 Main St.", with: "is at [Address]."),
                "uses [Address], but `business.address`"
            ),
            (Self.actions.replacingOccurrences(of: "doctor: {fixed", with: "nurse: {fixed"), "the message has no input <nurse>"),
            (Self.actions.replacingOccurrences(of: "  sms_directions:\n    kind", with: "  SMS Directions:\n    kind"), "action name"),
            (Self.actions.replacingOccurrences(of: "kind: in_call", with: "kind: in_call\n    class: bulk"), "unknown class `bulk`"),
        ]
        for (yaml, expected) in cases {
            let found = errors(yaml)
            #expect(found.contains { $0.contains(expected) && $0.contains("fix:") }, "\(expected): \(found)")
        }
    }

    @Test("The planner binds each input from the call's variables or the agent's fixed text and renders")
    func plans() throws {
        let rules = try Self.rules()
        let result = CallPlanner.plan(
            agent: "front_desk", actions: ["sms_confirmation", "sms_directions"],
            variables: ["name": "Ana", "appointment_date": "Fri 10 AM"],
            callEnded: true, rules: rules, business: { $0 == .business ? "Test Salon" : "+15550001111" })
        let planned = try result.get()
        #expect(
            planned.map(\.body) == [
                "Hi Ana, your appointment with Dr. Lee is confirmed for Fri 10 AM. Test Salon, call +15550001111. Bye Ana.",
                "Test Salon is at 1200 Main St.",
            ])
        #expect(planned.map(\.kind) == [.postCall, .inCall])
    }

    @Test("The planner names every missing variable and unknown action, and plans nothing then")
    func planProblems() throws {
        let rules = try Self.rules()
        let result = CallPlanner.plan(
            agent: "front_desk", actions: ["sms_confirmation", "sms_nope"], variables: ["name": "  "], callEnded: true, rules: rules,
            business: { _ in nil })
        #expect(throws: CallPlanErrors.self) { try result.get() }
        guard case .failure(let errors) = result else { return }
        #expect(
            errors.problems == [
                .missingVariable(action: "sms_confirmation", input: "customer_name", variable: "name"),
                .missingVariable(action: "sms_confirmation", input: "appointment_date", variable: "appointment_date"),
                .unknownAction("sms_nope"),
            ])
        let live = CallPlanner.plan(
            agent: "front_desk", actions: ["sms_confirmation"], variables: ["name": "Ana", "appointment_date": "Fri"], callEnded: false,
            rules: rules, business: { _ in nil })
        #expect(throws: CallPlanErrors(problems: [.callNotEnded(action: "sms_confirmation")])) { try live.get() }
        let inCall = CallPlanner.plan(
            agent: "front_desk", actions: ["sms_confirmation"], variables: [:], callEnded: true, inCallRequest: true, rules: rules,
            business: { _ in nil })
        #expect(throws: CallPlanErrors(problems: [.notInCall(action: "sms_confirmation")])) { try inCall.get() }
        let stranger = CallPlanner.plan(agent: "night", actions: [], variables: [:], callEnded: true, rules: rules, business: { _ in nil })
        #expect(throws: CallPlanErrors(problems: [.unknownAgent("night", known: ["front_desk"])])) { try stranger.get() }
    }

    @Test("The linter flags a long action, one that does not name the business, and marketing without STOP")
    func lints() throws {
        let yaml = """

            actions:
              sms_long:
                kind: post_call
                message: "Hi <customer_name>, [Business] confirms your <service> on <appointment_date> at <appointment_time> with <doctor_name> at <address>."
              sms_anonymous:
                kind: in_call
                message: "Your table is ready."
              sms_offer:
                kind: post_call
                class: marketing
                message: "[Business]: 20% off this month."
            """
        let warnings = RulesLinter.lint(try Self.rules(yaml)).map(\.message)
        #expect(warnings.contains { $0.contains("action `sms_long` takes 2 segments") })
        #expect(warnings.contains { $0.contains("action `sms_anonymous` does not say who is texting") })
        #expect(warnings.contains { $0.contains("marketing action `sms_offer` gives no opt-out instructions") })
        #expect(!warnings.contains { $0.contains("sms_offer` takes") })
    }

    @Test("A call's SMS is due now while the call is fresh, else at opening time")
    func due() throws {
        let business = try Self.rules().business
        // 2026-11-26 04:00 UTC is 22:00 in Chicago: closed until 09:00.
        let night = Date(timeIntervalSince1970: 1_795_665_600)
        #expect(SendPolicy.callSMSDue(endedAt: nil, now: night, business: business) == night)
        #expect(SendPolicy.callSMSDue(endedAt: night.addingTimeInterval(-300), now: night, business: business) == night)
        let opening = SendPolicy.callSMSDue(endedAt: night.addingTimeInterval(-3600), now: night, business: business)
        #expect(opening == night.addingTimeInterval(11 * 3600))
    }
}
