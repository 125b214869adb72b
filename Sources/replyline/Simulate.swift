import ArgumentParser
import Foundation
import Logging
import ReplylineCore
import ReplylineProviders
import ReplylineServer
import ReplylineStore

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Text a business as a customer in the terminal and see how the engine answers.",
        discussion: """
            Runs on a scratch database with one appointment awaiting an answer. Each line you type is an
            inbound text; AppServices shows its reply, the segment count and what changed. Type /state to see
            the appointment and consent, /quit or end of input to stop.
            """)

    @Option(help: "The business's rules file.") var rules = "Rules/default.yml"
    @Option(help: "Your phone number.") var phone = "+14155550100"
    @Option(help: "Your name on the appointment.") var name = "Ana"
    @Option(help: "The appointment's service.") var service = "Teeth cleaning"
    @Option(help: "Hours from now until the appointment.") var inHours = 48.0
    @Flag(help: "Start with no appointment.") var noAppointment = false

    func run() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("replyline-simulate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var configuration = ServerConfiguration()
        configuration.databasePath = scratch.appendingPathComponent("simulate.sqlite").path
        configuration.businesses = [
            BusinessConfiguration(id: "default", rules: try RulesLoader.load(contentsOf: URL(fileURLWithPath: rules)))
        ]
        var logger = Logger(label: "replyline.simulate")
        logger.logLevel = .critical
        let replyline = try AppServices(configuration, sender: PrintingSender(), logger: logger)
        let business = replyline.directory.businesses[0]
        guard let customer = PhoneNumber(phone, defaultCountry: business.rules.business.country) else {
            throw ValidationError("--phone \(phone) is not a phone number")
        }
        print("You are \(customer.e164), texting \(business.rules.business.name). /state shows where things stand, /quit ends.")
        if !noAppointment {
            let new = NewAppointment(
                id: "apt_1", phone: customer.e164, customerName: name, service: service,
                startsAt: Date().addingTimeInterval(inHours * 3600),
                amountCents: nil)
            _ = try await replyline.outbound.createAppointment(new, for: business)
            try await replyline.outbox.runOnce()
        }
        var count = 0
        while true {
            print("you> ", terminator: "")
            fflush(nil)
            guard let line = readLine() else { break }
            if line == "/quit" { break }
            if line == "/state" {
                try await printState(replyline, phone: customer.e164)
                continue
            }
            count += 1
            let message = InboundMessage(
                provider: "simulator", providerMessageID: "SIM\(count)", accountID: nil, messagingServiceID: nil, from: customer.e164,
                to: business.sendingNumber, body: line, media: [], providerOptOut: nil, parameters: [("Body", line)])
            let now = Date()
            let engine = business.engine
            let outcome = try await replyline.store.recordInbound(
                message, businessID: business.id, now: now, decide: { engine.decide(message.text, contact: $0, now: now) },
                render: { TwiML.render($0.replies.map { TwiMLMessage(body: $0) }) })
            guard let decision = outcome.decision else { continue }
            for reply in decision.replies {
                let segments = SegmentCounter.count(reply)
                print("\(business.rules.business.name)> \(reply)")
                print("    (\(segments.segments) segment\(segments.segments == 1 ? "" : "s"), \(segments.encoding.rawValue))")
            }
            if decision.replies.isEmpty { print("    (no reply)") }
            var changes = ["intent \(decision.intent)"]
            if let change = decision.appointmentChange {
                changes.append("appointment \(change.appointmentID): \(change.from.rawValue) -> \(change.to.rawValue)")
            }
            if let change = decision.consentChange { changes.append("consent -> \(change.to.rawValue) (\(change.source.rawValue))") }
            if decision.needsReply { changes.append("waiting for staff\(decision.staffFlag.map { ": \($0)" } ?? "")") }
            print("    [\(changes.joined(separator: "; "))]")
        }
    }

    func printState(_ replyline: AppServices, phone: String) async throws {
        if let (appointment, _) = try await replyline.store.appointment(id: "apt_1", businessID: "default") {
            print("    appointment apt_1: \(appointment.service), \(appointment.state.rawValue)")
        }
        let ledger = try await replyline.store.consentEvents(businessID: "default", phone: phone)
        print(
            "    consent: \(ledger.last?.toState.rawValue ?? ConsentState.optedIn.rawValue) (\(ledger.count) ledger entr\(ledger.count == 1 ? "y" : "ies"))"
        )
    }
}

/// Shows outbox sends (the confirmation request) as texts from the business.
struct PrintingSender: MessageSender {
    let name = "simulator"

    func send(_ message: StoredMessage) async -> SendResult {
        print("business> \(message.body)")
        return .sent(providerMessageID: nil, status: .sent)
    }
}
