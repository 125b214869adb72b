import Foundation
import ReplylineCore

/// A delivery-status callback as a provider adapter delivers it.
public struct StatusCallback: Sendable, Equatable {
    public var provider: String
    public var providerMessageID: String
    public var status: DeliveryStatus
    public var errorCode: String?
    public var errorMessage: String?
    /// Our message id, when the callback URL carried it (`?m=`): it lets a callback that
    /// beats the REST response find its message.
    public var messageID: MessageID?
    /// The account the callback names (Twilio's `AccountSid`).
    public var accountID: String?
    /// The number the message was sent from, as the callback names it (`From`, E.164).
    public var from: String?
    /// The business that sends from `from`: a callback held for a message not yet known
    /// is checked against it and later applies only to a message of that business.
    public var businessID: String?
    /// The provider's error code says the contact unsubscribed at the provider (its
    /// error table's `optedOut`, Twilio's 21610): an opt-out is recorded.
    public var optsOut: Bool

    public init(
        provider: String, providerMessageID: String, status: DeliveryStatus, errorCode: String?, errorMessage: String?,
        messageID: MessageID?, accountID: String? = nil, from: String? = nil, businessID: String? = nil, optsOut: Bool = false
    ) {
        self.provider = provider
        self.providerMessageID = providerMessageID
        self.status = status
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.messageID = messageID
        self.accountID = accountID
        self.from = from
        self.businessID = businessID
        self.optsOut = optsOut
    }
}

/// What a status callback did.
public enum StatusCallbackOutcome: Sendable, Equatable {
    /// Applied to a message of `businessID`: its status is now this (it never moves backwards).
    case applied(DeliveryStatus, businessID: String)
    /// No message has that id yet: held until one does.
    case held
    /// Not applied, and nothing changed: the callback does not belong to the message's business.
    case ignored(StatusCallbackMismatch)
}

/// Why a status callback was ignored: what did not match the business its message belongs to.
public struct StatusCallbackMismatch: Sendable, Equatable, CustomStringConvertible {
    /// The business the message belongs to (or, for a callback that would be held, the one
    /// sending from its `From`); nil when no business does.
    public var businessID: String?
    public var description: String

    public init(businessID: String? = nil, description: String) {
        self.businessID = businessID
        self.description = description
    }
}

extension StatusCallbackMismatch {
    /// Why `callback` does not belong to a message of `businessID` sent from `number`, or
    /// nil when it does. A callback without `From` is checked on its account alone.
    public static func reason(_ callback: StatusCallback, businessID: String, number: String?, expectedAccount: String?) -> String? {
        if let expected = expectedAccount, callback.accountID != expected {
            guard let account = callback.accountID else { return "it names no AccountSid; business \(businessID) expects its own" }
            return "AccountSid \(account) is not the account of business \(businessID)"
        }
        if let from = callback.from, let number, from != number {
            return "From \(from) is not the number the message was sent from (\(number))"
        }
        return nil
    }
}
