import ReplylineCore

/// A business ready to serve: its configuration and its engine.
public struct Business: Sendable {
    public let id: String
    public let rules: Rules
    public let engine: ConversationEngine
    public let numbers: Set<String>
    public let messagingServiceIDs: Set<String>
    public let plan: Plan?
    /// The account (Twilio: AC…) its status callbacks must name; nil: the deployment's.
    public let accountSID: String?
    /// The provider it sends through, by name.
    public let provider: String
    let apiKey: [UInt8]?

    /// The number its outbound messages come from.
    /// The number texts go out from: the first provider number, else the business's phone
    /// from its rules in E.164 (the provider refuses `(555) 010-4477`).
    public var sendingNumber: String {
        numbers.sorted().first
            ?? PhoneNumber(rules.business.phone, defaultCountry: rules.business.country)?.e164 ?? rules.business.phone
    }
}

/// Finds the business a webhook or an API key belongs to.
public struct BusinessDirectory: Sendable {
    public let businesses: [Business]
    let byNumber: [String: Business]
    let byService: [String: Business]
    /// The business with no numbers and no services, which receives on every other number.
    let receivingOnAnyOtherNumber: Business?

    public init(_ configurations: [BusinessConfiguration]) {
        businesses = configurations.map { configuration in
            Business(
                id: configuration.id, rules: configuration.rules, engine: ConversationEngine(rules: configuration.rules),
                numbers: Set(configuration.receivingNumbers), messagingServiceIDs: Set(configuration.messagingServiceIDs),
                plan: configuration.plan, accountSID: configuration.accountSID, provider: configuration.provider,
                apiKey: configuration.apiKey.map { Array($0.utf8) })
        }
        var byNumber: [String: Business] = [:]
        var byService: [String: Business] = [:]
        for business in businesses {
            for number in business.numbers { byNumber[number] = business }
            for service in business.messagingServiceIDs { byService[service] = business }
        }
        self.byNumber = byNumber
        self.byService = byService
        let catchAll = businesses.filter { $0.numbers.isEmpty && $0.messagingServiceIDs.isEmpty }
        receivingOnAnyOtherNumber = catchAll.count == 1 ? catchAll[0] : nil
    }

    /// The business that receives texts sent to `number`, or through the Messaging Service
    /// `messagingServiceID` (which wins: a service's numbers may change without notice).
    public func business(receivingOn number: String, messagingServiceID: String? = nil) -> Business? {
        if let service = messagingServiceID, let business = byService[service] { return business }
        if let business = byNumber[number] { return business }
        return receivingOnAnyOtherNumber
    }

    /// The business whose API key is `key`, compared in constant time against every key.
    public func business(apiKey key: String) -> Business? {
        let presented = Array(key.utf8)
        var found: Business?
        for business in businesses {
            guard let expected = business.apiKey else { continue }
            if secretsMatch(expected, presented) { found = business }
        }
        return found
    }
}

/// Whether `presented` equals the secret `expected`, in time that depends only on
/// `expected`'s length, so a caller cannot learn the secret a byte at a time.
func secretsMatch(_ expected: [UInt8], _ presented: [UInt8]) -> Bool {
    var difference = UInt8(expected.count == presented.count ? 0 : 1)
    for index in expected.indices { difference |= expected[index] ^ (index < presented.count ? presented[index] : 0) }
    return difference == 0
}
