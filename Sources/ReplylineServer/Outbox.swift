import Foundation
import Logging
import ReplylineCore
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
        let line = "[console sms] \(message.fromNumber) -> \(message.toNumber): \(message.body)\n"
        FileHandle.standardError.write(Data(line.utf8))
        return .sent(providerMessageID: "console-\(message.id ?? 0)", status: "sent")
    }
}

/// Monthly message allowances per plan: included messages, then overage at $0.01 a
/// message up to $20 a month, after which sending stops until the next month.
public enum Plan {
    public static let included: [String: Int] = ["starter": 500, "professional": 2_000, "business": 10_000]
    public static let overageCentsPerMessage = 1
    public static let overageCapCents = 2_000

    /// Messages a business may send in a month; nil is unlimited (enterprise).
    public static func hardLimit(_ plan: String) -> Int? {
        included[plan].map { $0 + overageCapCents / overageCentsPerMessage }
    }
}

/// Sends what the outbox holds, in order. Every check is made again at send time, not
/// only when the message was queued: consent, an invalid number, the plan's monthly
/// limit, and for automated messages quiet hours and cadence. A deferred message holds
/// back later messages to the same contact, so they keep their order.
public struct OutboxWorker: Service {
    let database: AppDatabase
    let sender: any MessageSender
    let directory: BusinessDirectory
    let now: @Sendable () -> Date
    let interval: Duration
    let logger: Logger
    let metrics: Metrics
    /// Scales retry delays; random in 0.8...1.2 in production, fixed in tests.
    var jitter: @Sendable () -> Double = { Double.random(in: 0.8...1.2) }

    public func run() async throws {
        let interrupted = try await database.recoverInterruptedSends()
        if interrupted > 0 {
            logger.warning("\(interrupted) message(s) were being sent when the server stopped; marked unknown, not sent again")
        }
        // On SIGTERM the send in flight finishes and is recorded, then the worker stops:
        // only the wait between passes is cancelled, never a send.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
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
        let due = try await database.dueOutbox(now: now, limit: 200)
        var heldBack: [Int64: Date] = [:]
        var sentInPass: [Int64: [Date]] = [:]
        var monthCounts: [String: Int] = [:]
        for item in due {
            if Task.isShuttingDownGracefully { break }
            let businessID = item.entry.businessId
            guard let business = directory.businesses.first(where: { $0.id == businessID }) else { continue }
            if let until = heldBack[item.contactID] {
                try await database.deferSend(item.entry, until: until, reason: "waiting for an earlier message to this contact")
                continue
            }
            if monthCounts[businessID] == nil {
                monthCounts[businessID] = try await database.sentThisMonth(businessID: businessID, now: now)
            }
            let facts = SendFacts(
                consent: item.consent, numberInvalid: item.numberInvalid, isAutomated: item.message.isAutomated,
                quietHoursApply: item.message.isAutomated && item.message.kind != "post_call",
                recentAutomatedSends: item.recentAutomatedSends + sentInPass[item.contactID, default: []],
                sentThisMonth: monthCounts[businessID]!, monthlyLimit: Plan.hardLimit(business.plan),
                appointmentStartsAt: item.appointmentStartsAt)
            switch SendPolicy.verdict(facts, business: business.rules.business, now: now) {
            case .block(let reason):
                metrics.outbound(result: "blocked")
                try await database.finishSend(item.entry, result: .blocked(reason: reason), now: now)
            case .deferUntil(let until):
                metrics.outbound(result: "deferred")
                heldBack[item.contactID] = until
                try await database.deferSend(item.entry, until: until, reason: "deferred by quiet hours or cadence")
            case .send:
                guard try await database.claimSend(item.entry) else { continue }
                var result = await sender.send(item.message)
                if case .retry(let after, let reason) = result {
                    result = .retry(
                        after: max(after, SendPolicy.backoff(attempt: item.entry.attempts + 1, jitter: jitter())), reason: reason)
                }
                try await database.finishSend(item.entry, result: result, now: self.now())
                metrics.outbound(result: result.label)
                if case .sent = result {
                    monthCounts[businessID, default: 0] += 1
                    if item.message.isAutomated { sentInPass[item.contactID, default: []].append(now) }
                } else if case .retry = result {
                    heldBack[item.contactID] = now
                }
            }
        }
        return due.count
    }
}

extension SendResult {
    var label: String {
        switch self {
        case .sent: "sent"
        case .blocked: "blocked"
        case .failed, .optedOut, .invalidNumber: "failed"
        case .retry: "retry"
        case .unknown: "unknown"
        }
    }
}
