import Foundation
import Logging
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
        return .sent(providerMessageID: "console-\(message.id ?? 0)")
    }
}

/// Sends what the outbox holds. Consent is checked again at send time, not only when the
/// message was queued: an opt-out in between blocks it.
public struct OutboxWorker: Service {
    let database: AppDatabase
    let sender: any MessageSender
    let now: @Sendable () -> Date
    let interval: Duration
    let logger: Logger

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await runOnce()
                } catch {
                    logger.error("outbox pass failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass over the due messages; returns how many it finished.
    @discardableResult
    public func runOnce() async throws -> Int {
        let due = try await database.dueOutbox(now: now(), limit: 100)
        for item in due {
            let result: SendResult =
                item.consent == .optedOut ? .blocked(reason: "contact opted out") : await sender.send(item.message)
            try await database.finishSend(item.entry, result: result, now: now())
        }
        return due.count
    }
}
