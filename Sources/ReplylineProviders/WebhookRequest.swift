/// A webhook request as received, independent of the HTTP server, so the same handler
/// serves Hummingbird routes and `replyline replay`.
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

    static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? name.lowercased() : name
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
