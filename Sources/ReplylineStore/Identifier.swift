/// The id of a stored row of `Record`: a message id cannot be passed where a contact id is
/// expected. It is the store's number for the row; in JSON it is that number.
public struct Identifier<Record>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: Int64

    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}

public typealias ContactID = Identifier<StoredContact>
public typealias ConversationID = Identifier<StoredConversation>
public typealias MessageID = Identifier<StoredMessage>
public typealias OutboxEntryID = Identifier<OutboxEntry>
public typealias ConsentEventID = Identifier<StoredConsentEvent>
