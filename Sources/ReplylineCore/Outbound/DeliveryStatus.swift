/// A message's delivery status as providers report it, and the order statuses may move in.
///
/// Callbacks arrive late, repeated and out of order; a status never moves backwards
/// (`delivered` is not overwritten by a late `sent`), and the first final outcome stands,
/// except that `read` may follow `delivered`.
public enum DeliveryStatus: String, Sendable, CaseIterable, Codable {
    case accepted, scheduled, queued, sending, sent
    case receiving, received
    case partiallyDelivered = "partially_delivered"
    case delivered, undelivered, failed, read, canceled

    var rank: Int {
        switch self {
        case .accepted, .scheduled: 0
        case .queued: 1
        case .sending: 2
        case .sent: 3
        case .receiving, .received: 3
        case .partiallyDelivered: 4
        case .delivered, .undelivered, .failed, .canceled: 5
        case .read: 6
        }
    }

    public var isFinal: Bool { rank >= 5 }

    /// The status after a callback reporting `next` arrives while the message is `current`
    /// (nil when the message has no provider status yet).
    public static func advance(_ current: DeliveryStatus?, to next: DeliveryStatus) -> DeliveryStatus {
        guard let current else { return next }
        if next == .read, current == .delivered { return .read }
        if current.isFinal { return current }
        return next.rank > current.rank ? next : current
    }
}
