import Foundation
import ReplylineCore

/// One row of the Messages page: an outbound message with its contact.
public struct OutboundListing: Sendable, Equatable {
    public var message: StoredMessage
    public var phone: String
    public var name: String?

    public init(message: StoredMessage, phone: String, name: String?) {
        self.message = message
        self.phone = phone
        self.name = name
    }
}

/// Which outbound messages the Messages page lists.
public enum OutboundFilter: String, Sendable, CaseIterable {
    case all, delivered, pending, failed

    /// The statuses it takes; nil for every one.
    public var statuses: [MessageStatus]? {
        switch self {
        case .all: nil
        case .delivered: [.delivered, .read]
        case .pending: [.accepted, .scheduled, .queued, .sending, .sent, .partiallyDelivered]
        case .failed: [.failed, .undelivered, .blocked, .canceled, .unknown]
        }
    }
}

/// Messages of one quarter hour (UTC), for volume charts bucketed into local days by the
/// caller: a quarter hour falls in one local day in every time zone in use.
public struct MessageVolume: Sendable, Equatable {
    public var quarterHour: Date
    public var inbound: Int
    public var outbound: Int

    public init(quarterHour: Date, inbound: Int, outbound: Int) {
        self.quarterHour = quarterHour
        self.inbound = inbound
        self.outbound = outbound
    }
}
