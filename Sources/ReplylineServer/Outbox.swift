import Foundation
import Logging
import ReplylineCore
import ReplylineProviders
import ReplylineStore
import ServiceLifecycle

/// Something that hands messages to a provider.
public protocol MessageSender: Sendable {
    /// Stored as the provider of the messages it sends.
    var name: String { get }
    func send(_ message: StoredMessage) async -> SendResult
}

/// Prints what would be sent, so `serve` works with no provider credentials.
public struct ConsoleSender: MessageSender {
    public let name = "console"

    public init() {}

    public func send(_ message: StoredMessage) async -> SendResult {
        let line = "\(Date().formatted(.iso8601)) [console sms] \(message.fromNumber) -> \(message.toNumber): \(message.body)\n"
        FileHandle.standardError.write(Data(line.utf8))
        return .sent(providerMessageID: "console-\(message.id?.rawValue ?? 0)", status: .sent)
    }
}

/// Monthly message allowances per plan: included messages, then overage at $0.01 a
/// message up to $20 a month, after which sending stops until the next month. A
/// self-hosted business has no plan, and no limit, unless its configuration names one.
public enum Plan: String, CaseIterable, Sendable, CustomStringConvertible {
    case starter, professional, business
    /// No limit.
    case enterprise

    public static let overageCentsPerMessage = 1
    public static let overageCapCents = 2_000

    /// Messages a month the plan includes; nil for no limit.
    public var includedMessages: Int? {
        switch self {
        case .starter: 500
        case .professional: 2_000
        case .business: 10_000
        case .enterprise: nil
        }
    }

    /// Messages a month the plan may send, overage included; nil is unlimited.
    public var hardLimit: Int? { includedMessages.map { $0 + Self.overageCapCents / Self.overageCentsPerMessage } }

    public var description: String { rawValue }

    /// Every plan a configuration may name.
    public static var names: [String] { allCases.map(\.rawValue) }

    /// How a plan reads in the start-up log.
    public static func summary(_ plan: Plan?) -> String {
        guard let plan else { return "no plan limit" }
        guard let included = plan.includedMessages, let limit = plan.hardLimit else { return "plan \(plan.rawValue), no limit" }
        return "plan \(plan.rawValue): \(included) messages a month, then overage up to \(limit)"
    }
}

/// Sends what the outbox holds, in order. Every check is made again at send time, not
/// only when the message was queued: consent, an invalid number, the plan's monthly
/// limit, and for automated messages quiet hours and cadence. A deferred message holds
/// back later messages to the same contact, so they keep their order. Each message goes
/// through its business's provider.
public struct OutboxWorker: Service {
    let store: any ConversationStore
    /// The sender of each business, by business id.
    let senders: [String: any MessageSender]
    /// Names this worker's claims (`ServerConfiguration.effectiveInstanceID`).
    let instance: String
    let directory: BusinessDirectory
    let now: @Sendable () -> Date
    let interval: Duration
    /// Rung when a message is queued to go now: the worker passes at once instead of waiting `interval`.
    let doorbell: OutboxDoorbell
    let logger: Logger
    let metrics: Metrics
    /// Scales retry delays; random in 0.8...1.2 in production, fixed in tests.
    var jitter: @Sendable () -> Double = { Double.random(in: 0.8...1.2) }

    public func run() async throws {
        let interrupted = try await store.recoverInterruptedSends(restartOf: instance, now: now())
        if interrupted > 0 {
            logger.warning("\(interrupted) message(s) were being sent when the server stopped; marked unknown, not sent again")
        }
        // On SIGTERM the send in flight finishes and is recorded, then the worker stops:
        // only the wait between passes is cancelled, never a send.
        var lastSweep = now()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                // Claims another instance left when it died are settled once their lease runs out.
                if now().timeIntervalSince(lastSweep) >= OutboxTerms.sendLease {
                    lastSweep = now()
                    let expired = try await store.recoverInterruptedSends(now: lastSweep)
                    if expired > 0 { logger.warning("\(expired) message(s) claimed by a stopped instance; marked unknown, not sent again") }
                }
                _ = try await runOnce()
            } catch {
                logger.error("outbox pass failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { [doorbell, interval] in await doorbell.wait(upTo: interval) }
        }
        logger.info("outbox worker stopped")
    }

    /// Passes over the due messages until one claims nothing (a pass claims at most one
    /// message per contact, so a contact's messages go in order); returns how many entries
    /// were decided.
    @discardableResult
    public func runOnce() async throws -> Int {
        var decided = 0
        for _ in 0..<Self.maxPassesPerRun {
            if Task.isShuttingDownGracefully { break }
            let (count, claimed) = try await pass()
            decided += count
            if claimed == 0 { break }
        }
        return decided
    }

    /// Bounds one `runOnce`: a contact with many queued messages sends them over later runs.
    static let maxPassesPerRun = 20

    /// One claiming pass (`ConversationStore.claimDue`), then the sends it claimed, together.
    /// Returns how many entries it decided and how many it claimed.
    func pass() async throws -> (decided: Int, claimed: Int) {
        let now = self.now()
        let businesses = Dictionary(directory.businesses.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let decided = try await store.claimDue(owner: instance, now: now, limit: 200) { item in
            guard let business = businesses[item.entry.businessId] else { return nil }
            return Self.decision(item, business: business, now: now)
        }
        var claimed: [OutboxItem] = []
        for entry in decided {
            let message = entry.item.message
            let businessID = entry.item.entry.businessId
            switch entry.decision {
            case .send:
                claimed.append(entry.item)
            case .hold(_, let reason):
                metrics.outbound(result: "deferred")
                log(message, business: businessID, reason)
            case .block(let reason):
                metrics.outbound(result: "blocked")
                log(message, business: businessID, "blocked: \(reason)")
            case .skip(let reason):
                metrics.outbound(result: "skipped")
                log(message, business: businessID, "skipped: \(reason)")
            }
        }
        // Claimed but not yet sent when the server is told to stop: back to pending, for
        // this or another instance, rather than left to be settled as unknown.
        if Task.isShuttingDownGracefully {
            for left in claimed {
                try await store.finishSend(left.entry, result: .retry(after: 0, reason: "the server stopped before sending it"), now: now)
            }
            return (decided.count, claimed.count)
        }
        // Each claim is another contact's (a pass claims one message per contact), so they
        // go together: one slow answer from the provider holds up no one else's text. Every
        // send runs to its end, even when another fails, so none is cut off mid-request.
        let failure = await withTaskGroup(of: (any Error)?.self) { group in
            for item in claimed {
                group.addTask {
                    do {
                        try await self.send(item)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            return await group.reduce(nil) { first, error in first ?? error }
        }
        if let failure { throw failure }
        return (decided.count, claimed.count)
    }

    /// What the send policy makes of `item` for `business` at `now`.
    static func decision(_ item: OutboxItem, business: Business, now: Date) -> OutboxDecision {
        let facts = SendFacts(
            consent: item.consent, isReplyUnderCurrentConsent: item.isReplyUnderCurrentConsent, numberInvalid: item.numberInvalid,
            isAutomated: item.message.isAutomated,
            quietHoursApply: item.message.isAutomated
                && !(item.message.kind.followsCall && now.timeIntervalSince(item.message.createdAt) < SendPolicy.callFollowUpWindow),
            recentAutomatedSends: item.recentAutomatedSends, sentThisMonth: item.sentThisMonth, monthlyLimit: business.plan?.hardLimit,
            appointmentStartsAt: item.appointmentStartsAt, appointment: item.appointment)
        switch SendPolicy.verdict(facts, business: business.rules.business, now: now) {
        case .send: return .send
        case .block(let reason): return .block(reason: reason)
        case .skip(let reason): return .skip(reason: reason)
        case .deferUntil(let until, let hold):
            return .hold(
                until: until, reason: "held until \(localTime(until, in: business.rules.business.timeZone, now: now)) (\(hold.rawValue))")
        }
    }

    /// Records how a send ended. The provider has answered, so while the store cannot
    /// write (a database outage) this keeps trying for most of the claim's lease, rather
    /// than leave the entry to be settled `unknown` when the lease runs out.
    func record(_ entry: OutboxEntry, _ result: SendResult) async throws {
        let clock = ContinuousClock()
        let giveUp = clock.now + .seconds(OutboxTerms.sendLease * 0.8)
        var pause = Duration.milliseconds(500)
        while true {
            do {
                return try await store.finishSend(entry, result: result, now: now())
            } catch let error as StoreUnavailable where clock.now + pause < giveUp {
                logger.warning("outbound message \(entry.messageId): the outcome waits for the database (\(error.reason))")
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    /// Sends a claimed message through its business's provider and records the outcome.
    func send(_ item: OutboxItem) async throws {
        let message = item.message
        let businessID = item.entry.businessId
        guard let sender = senders[businessID] else {
            try await store.finishSend(
                item.entry, result: .failed(code: nil, message: "no provider sends for business \(businessID)"), now: now())
            return
        }
        // The attempt is recorded before the provider is called: from here on a crash
        // leaves the message `unknown`, never sent twice.
        switch try await store.beginSend(item.entry, owner: instance, now: now()) {
        case .begun:
            break
        case .lost:
            log(message, business: businessID, "no longer this instance's to send (its claim expired)")
            return
        case .optedOut:
            metrics.outbound(result: "blocked")
            try await record(item.entry, .blocked(reason: "the contact opted out"))
            log(message, business: businessID, "blocked: the contact opted out")
            return
        }
        let attempt = item.entry.attempts + 1
        var result = await sender.send(message)
        if case .retry(let after, let reason) = result {
            result = .retry(after: max(after, SendPolicy.backoff(attempt: attempt, jitter: jitter())), reason: reason)
        }
        try await record(item.entry, result)
        metrics.outbound(result: result.label)
        if case .retry(_, let reason) = result, attempt >= OutboxTerms.maxSendAttempts {
            log(message, business: businessID, "failed: gave up after \(attempt) attempts: \(reason)")
        } else {
            log(message, business: businessID, result.logText)
        }
    }
}

extension OutboxWorker {
    /// One line per outcome: the message's id, kind and business, never its body or number.
    func log(_ message: StoredMessage, business: String, _ outcome: String) {
        logger.info("outbound message \(message.id?.rawValue ?? 0) (\(message.kind)) for \(business): \(outcome)")
    }

    /// `until` as staff read it: "09:00 America/New_York", with the date when not today.
    static func localTime(_ until: Date, in zone: TimeZone, now: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: until)
        let time = String(format: "%02d:%02d", parts.hour!, parts.minute!)
        let day = calendar.isDate(until, inSameDayAs: now) ? "" : String(format: "%04d-%02d-%02d ", parts.year!, parts.month!, parts.day!)
        return "\(day)\(time) \(zone.identifier)"
    }
}

extension SendResult {
    /// A send the provider refused for good, with what its error code makes of it: an
    /// opt-out, a number that cannot receive texts, or a plain failure.
    public static func rejected(code: String?, message: String, error: ProviderError?) -> SendResult {
        guard let code, let error else { return .failed(code: code, message: message) }
        switch error.consequence {
        case .failed: return .failed(code: code, message: message)
        case .optedOut: return .optedOut(code: code, message: message)
        case .invalidNumber: return .invalidNumber(code: code, message: message)
        }
    }

    /// The outcome as the log line says it.
    var logText: String {
        switch self {
        case .sent(let id, _): "sent\(id.map { " as \($0)" } ?? "")"
        case .blocked(let reason): "blocked: \(reason)"
        case .skipped(let reason): "skipped: \(reason)"
        case .failed(let code, let message): "failed\(code.map { " (\($0))" } ?? ""): \(message)"
        case .optedOut(let code, _): "failed (\(code)): the contact unsubscribed; opt-out recorded"
        case .invalidNumber(let code, _): "failed (\(code)): the number cannot receive texts"
        case .retry(let after, let reason): "will retry in \(Int(after.rounded())) s: \(reason)"
        case .unknown(let reason): "unknown, not sent again: \(reason)"
        }
    }

    var label: String {
        switch self {
        case .sent: "sent"
        case .blocked: "blocked"
        case .skipped: "skipped"
        case .failed, .optedOut, .invalidNumber: "failed"
        case .retry: "retry"
        case .unknown: "unknown"
        }
    }
}
