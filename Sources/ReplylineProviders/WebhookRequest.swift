/// A webhook request as received, independent of the HTTP server, so the same pipeline
/// serves Hummingbird routes and `replyline replay`, and a provider reads it without one.
public struct WebhookRequest: Sendable {
    /// The request target: path and query, as the provider called it.
    public var target: String
    /// Header fields in order, names in lower case.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The body was longer than the server reads; `body` holds none of it.
    public var bodyExceededLimit: Bool
    /// The body could not be read (a broken chunked encoding, say); `body` holds none of it.
    public var bodyUnreadable: Bool

    public init(
        target: String, headers: [(name: String, value: String)], body: [UInt8], bodyExceededLimit: Bool = false,
        bodyUnreadable: Bool = false
    ) {
        self.target = target
        // Lower-cased once here, so lookups are plain comparisons.
        self.headers = headers.map { (Self.lowercased($0.name), $0.value) }
        self.body = body
        self.bodyExceededLimit = bodyExceededLimit
        self.bodyUnreadable = bodyUnreadable
    }

    /// The values of header `name`, which must be given in lower case.
    public func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name == name }.map(\.value)
    }

    /// Our message id when the request target carries it as `m=` in the query: the outbox
    /// puts it in each message's status-callback URL, so a callback that beats the
    /// provider's answer to the send still finds its message.
    public var messageIDHint: Int64? {
        target.split(separator: "?", maxSplits: 1).dropFirst().first.flatMap { query in
            query.split(separator: "&").first { $0.hasPrefix("m=") }.flatMap { Int64($0.dropFirst(2)) }
        }
    }

    static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? name.lowercased() : name
    }
}
