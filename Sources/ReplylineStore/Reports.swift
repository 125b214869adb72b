import Foundation
import ReplylineCore

/// Messages and segments a business used in a period.
public struct UsageFigures: Sendable, Equatable {
    public var outboundMessages: Int
    public var outboundSegments: Int
    public var inboundMessages: Int
    public var inboundSegments: Int

    public init(outboundMessages: Int, outboundSegments: Int, inboundMessages: Int, inboundSegments: Int) {
        self.outboundMessages = outboundMessages
        self.outboundSegments = outboundSegments
        self.inboundMessages = inboundMessages
        self.inboundSegments = inboundSegments
    }
}

/// How a business's outbound messages fared in a period.
public struct DeliverabilityFigures: Sendable, Equatable {
    public var sent: Int
    public var delivered: Int
    public var failed: Int
    /// Contacts sent at least one message in the period.
    public var contactsMessaged: Int
    /// Of those, contacts who texted back after it.
    public var contactsResponded: Int
    /// Of those, contacts who opted out in the period.
    public var contactsOptedOut: Int
    /// Provider error code to how many messages got it.
    public var errorCodes: [String: Int]

    public init(
        sent: Int, delivered: Int, failed: Int, contactsMessaged: Int, contactsResponded: Int, contactsOptedOut: Int,
        errorCodes: [String: Int]
    ) {
        self.sent = sent
        self.delivered = delivered
        self.failed = failed
        self.contactsMessaged = contactsMessaged
        self.contactsResponded = contactsResponded
        self.contactsOptedOut = contactsOptedOut
        self.errorCodes = errorCodes
    }
}
