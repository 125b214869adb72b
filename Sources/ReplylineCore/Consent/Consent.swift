import Foundation

/// Whether a business may text a contact.
public enum ConsentState: String, Sendable, Codable, Hashable {
    case optedIn = "opted_in"
    case optedOut = "opted_out"
}

/// What caused a consent change; kept in the ledger.
public enum ConsentSource: String, Sendable, Codable, Hashable {
    /// The contact sent an opt-out or opt-in keyword.
    case keyword
    /// Free text read as a revocation ("please stop texting me"); flagged for review.
    case inferred
    /// The provider's own opt-out management acted (Twilio `OptOutType`, error 21610).
    case provider
    case api
    case `import`
}

/// A consent change the engine decided.
public struct ConsentChange: Sendable, Hashable {
    public var to: ConsentState
    public var source: ConsentSource

    public init(to: ConsentState, source: ConsentSource) {
        self.to = to
        self.source = source
    }
}

/// One row of the append-only consent ledger.
public struct ConsentEvent: Sendable, Hashable, Codable {
    public var businessID: String
    public var phone: String
    public var from: ConsentState
    public var to: ConsentState
    public var source: ConsentSource
    /// The provider message id that caused the change, when a message did.
    public var messageID: String?
    public var at: Date

    public init(
        businessID: String, phone: String, from: ConsentState, to: ConsentState,
        source: ConsentSource, messageID: String?, at: Date
    ) {
        self.businessID = businessID
        self.phone = phone
        self.from = from
        self.to = to
        self.source = source
        self.messageID = messageID
        self.at = at
    }
}
