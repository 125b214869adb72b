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
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        logger.info("outbox worker stopped")
    }

    /// One pass over the due messages; returns how many it settled or deferred.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = self.now()
        let due = try await store.dueOutbox(now: now, limit: 200)
        var heldBack: [ContactID: Date] = [:]
        var sentInPass: [ContactID: [Date]] = [:]
        var monthCounts: [String: Int] = [:]
        for item in due {
            if Task.isShuttingDownGracefully { break }
            let businessID = item.entry.businessId
            guard let business = directory.businesses.first(where: { $0.id == businessID }) else { continue }
            if let until = heldBack[item.contactID] {
                try await store.deferSend(item.entry, until: until, reason: "waiting for an earlier message to this contact")
                log(item.message, business: businessID, "held behind an earlier message to this contact")
                continue
            }
            if monthCounts[businessID] == nil {
                monthCounts[businessID] = try await store.sentThisMonth(businessID: businessID, now: now)
            }
            // Asked only of a reply to a contact who opted out: rare, so not in `dueOutbox`.
            let isReplyUnderCurrentConsent =
                item.consent != .optedIn && item.message.kind == .reply
                ? try await store.replyDecidedUnderCurrentConsent(replyID: item.entry.messageId) : false
            let facts = SendFacts(
                consent: item.consent, isReplyUnderCurrentConsent: isReplyUnderCurrentConsent, numberInvalid: item.numberInvalid,
                isAutomated: item.message.isAutomated,
                quietHoursApply: item.message.isAutomated && item.message.kind != .postCall,
                recentAutomatedSends: item.recentAutomatedSends + sentInPass[item.contactID, default: []],
                sentThisMonth: monthCounts[businessID]!, monthlyLimit: business.plan?.hardLimit,
                appointmentStartsAt: item.appointmentStartsAt, appointment: item.appointment)
            let verdict = SendPolicy.verdict(facts, business: business.rules.business, now: now)
            let message = item.message
            switch verdict {
            case .block(let reason):
                metrics.outbound(result: "blocked")
                try await store.finishSend(item.entry, result: .blocked(reason: reason), now: now)
                log(message, business: businessID, "blocked: \(reason)")
            case .skip(let reason):
                metrics.outbound(result: "skipped")
                try await store.finishSend(item.entry, result: .skipped(reason: reason), now: now)
                log(message, business: businessID, "skipped: \(reason)")
            case .deferUntil(let until, let hold):
                metrics.outbound(result: "deferred")
                heldBack[item.contactID] = until
                let reason = "held until \(Self.localTime(until, in: business.rules.business.timeZone, now: now)) (\(hold.rawValue))"
                try await store.deferSend(item.entry, until: until, reason: reason)
                log(message, business: businessID, reason)
            case .send:
                guard let sender = senders[businessID], try await store.claimSend(item.entry, owner: instance, now: now) else {
                    continue
                }
                var result = await sender.send(message)
                if case .retry(let after, let reason) = result {
                    result = .retry(
                        after: max(after, SendPolicy.backoff(attempt: item.entry.attempts + 1, jitter: jitter())), reason: reason)
                }
                try await store.finishSend(item.entry, result: result, now: self.now())
                metrics.outbound(result: result.label)
                if case .retry(_, let reason) = result, item.entry.attempts + 1 >= OutboxTerms.maxSendAttempts {
                    log(message, business: businessID, "failed: gave up after \(item.entry.attempts + 1) attempts: \(reason)")
                } else {
                    log(message, business: businessID, result.logText)
                }
                if case .sent = result {
                    monthCounts[businessID, default: 0] += 1
                    if message.isAutomated { sentInPass[item.contactID, default: []].append(now) }
                } else if case .retry = result {
                    heldBack[item.contactID] = now
                }
            }
        }
        return due.count
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
