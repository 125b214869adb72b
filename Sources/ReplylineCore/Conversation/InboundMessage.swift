/// An inbound message as any provider adapter delivers it to the store.
public struct InboundMessage: Sendable, Hashable {
    public struct Media: Sendable, Hashable, Codable {
        public var url: String
        public var contentType: String?

        public init(url: String, contentType: String?) {
            self.url = url
            self.contentType = contentType
        }
    }

    /// `twilio`, `plivo`, ...: with `providerMessageID`, the key that makes delivery exactly-once.
    public var provider: String
    public var providerMessageID: String
    public var accountID: String?
    public var messagingServiceID: String?
    public var from: String
    public var to: String
    public var body: String
    public var media: [Media]
    public var providerOptOut: ProviderOptOut?
    /// Every parameter the provider sent, in order, unknown ones included.
    public var parameters: [(name: String, value: String)]
    /// The parameters (`MediaUrl1`, ...) whose media was dropped because they did not
    /// name an http(s) URL; their values stay in `parameters`, never in `media`.
    public var droppedMedia: [String]

    public init(
        provider: String, providerMessageID: String, accountID: String?, messagingServiceID: String?,
        from: String, to: String, body: String, media: [Media], providerOptOut: ProviderOptOut?,
        parameters: [(name: String, value: String)], droppedMedia: [String] = []
    ) {
        self.provider = provider
        self.providerMessageID = providerMessageID
        self.accountID = accountID
        self.messagingServiceID = messagingServiceID
        self.from = from
        self.to = to
        self.body = body
        self.media = media
        self.providerOptOut = providerOptOut
        self.parameters = parameters
        self.droppedMedia = droppedMedia
    }

    public var text: InboundText { InboundText(body: body, mediaCount: media.count, providerOptOut: providerOptOut) }

    public static func == (lhs: InboundMessage, rhs: InboundMessage) -> Bool {
        lhs.provider == rhs.provider && lhs.providerMessageID == rhs.providerMessageID && lhs.from == rhs.from
            && lhs.to == rhs.to && lhs.body == rhs.body && lhs.media == rhs.media
            && lhs.parameters.elementsEqual(rhs.parameters, by: { $0 == $1 })
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(provider)
        hasher.combine(providerMessageID)
    }
}
