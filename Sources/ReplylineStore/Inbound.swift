import Foundation
import ReplylineCore

/// What happened to one inbound webhook delivery.
public struct InboundOutcome: Sendable {
    /// The exact response body for the provider: freshly rendered, or the stored one on a retry.
    public var reply: String
    /// True when this provider message id was already recorded; nothing changed.
    public var isDuplicate: Bool
    /// The engine's decision; nil on a duplicate.
    public var decision: Decision?
    public var messageID: MessageID

    public init(reply: String, isDuplicate: Bool, decision: Decision? = nil, messageID: MessageID) {
        self.reply = reply
        self.isDuplicate = isDuplicate
        self.decision = decision
        self.messageID = messageID
    }
}
