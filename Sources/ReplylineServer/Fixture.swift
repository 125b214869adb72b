import Foundation

/// A recorded provider conversation: the setup, then requests in order with the exact
/// response each must get. Stored as JSON under `Fixtures/`; read by the fixture tests
/// and by `replyline replay`.
public struct Fixture: Codable, Sendable {
    public struct Config: Codable, Sendable {
        public var authToken: String?
        public var sharedKey: String?
        public var publicURL: String?
        public var numbers: [String]?
        /// The fixed clock, RFC 3339.
        public var now: String?
        public var rules: String?

        enum CodingKeys: String, CodingKey {
            case authToken = "auth_token"
            case sharedKey = "shared_key"
            case publicURL = "public_url"
            case numbers, now, rules
        }
    }

    public struct AppointmentSetup: Codable, Sendable {
        public var phone: String
        public var customerName: String?
        public var service: String
        public var startsAt: String
        public var amount: Double?

        enum CodingKeys: String, CodingKey {
            case phone
            case customerName = "customer_name"
            case service
            case startsAt = "starts_at"
            case amount
        }
    }

    public struct Setup: Codable, Sendable {
        public var appointments: [AppointmentSetup]?
    }

    public struct Request: Codable, Sendable {
        public var method: String
        public var path: String
        /// Header fields as `[name, value]` pairs, repeats allowed.
        public var headers: [[String]]
        /// The body as text, or `bodyBase64` for bytes that are not UTF-8.
        public var body: String?
        public var bodyBase64: String?

        enum CodingKeys: String, CodingKey {
            case method, path, headers, body
            case bodyBase64 = "body_base64"
        }

        public var bodyBytes: [UInt8] {
            if let base64 = bodyBase64, let data = Data(base64Encoded: base64) { return Array(data) }
            return Array((body ?? "").utf8)
        }
    }

    public struct Response: Codable, Sendable, Equatable {
        public var status: Int
        public var contentType: String?
        public var body: String

        enum CodingKeys: String, CodingKey {
            case status
            case contentType = "content_type"
            case body
        }

        public init(status: Int, contentType: String?, body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public struct Step: Codable, Sendable {
        public var note: String?
        public var request: Request
        public var response: Response?
    }

    public var description: String
    public var config: Config?
    public var setup: Setup?
    public var steps: [Step]

    /// Reads the fixture at `url`; a file that is not one fails with its name and what is
    /// wrong (unreadable, not JSON, or the field that is missing or of the wrong type).
    public static func load(_ url: URL) throws -> Fixture {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FixtureError("\(url.path): cannot be read; pass a fixture file or a folder of them, e.g. Fixtures/twilio")
        }
        do {
            return try JSONDecoder().decode(Fixture.self, from: data)
        } catch let error as DecodingError {
            throw FixtureError("\(url.path): not a replyline fixture: \(Self.explain(error))")
        }
    }

    /// A `DecodingError` as a person reads it: where in the file, and what was expected.
    static func explain(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        let expected = "a JSON object with `steps` (each a `request` and its `response`), see Fixtures/twilio"
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "not valid JSON; expected \(expected)"
        case .dataCorrupted(let context):
            return "`\(path(context.codingPath))`: \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "`\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)` is missing; expected \(expected)"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let place = path(context.codingPath)
            return "\(place.isEmpty ? "the top level" : "`\(place)`") should be \(Self.describe(type)); expected \(expected)"
        @unknown default:
            return "\(error)"
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case _ where String(describing: type).hasPrefix("Array<"): "a list"
        default: "an object"
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try (encoder.encode(self) + Data("\n".utf8)).write(to: url)
    }
}
