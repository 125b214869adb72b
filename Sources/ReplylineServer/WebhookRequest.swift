/// A webhook request as received, independent of the HTTP server, so the same handler
/// serves Hummingbird routes and `replyline replay`.
public struct WebhookRequest: Sendable {
    /// The request target: path and query, as the provider called it.
    public var target: String
    /// Header fields in order; names compare case-insensitively.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The body was longer than the server reads; `body` holds none of it.
    public var bodyExceededLimit: Bool

    public init(target: String, headers: [(name: String, value: String)], body: [UInt8], bodyExceededLimit: Bool = false) {
        self.target = target
        self.headers = headers
        self.body = body
        self.bodyExceededLimit = bodyExceededLimit
    }

    public func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }
}

/// The answer to a webhook: status, content type and the exact body.
public struct WebhookResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: String

    public init(status: Int, contentType: String, body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}
