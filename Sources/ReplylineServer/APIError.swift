import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReplylineCore

/// An API error as JSON: `{"error": {"code", "message", "field"}}`, with a message a
/// person can act on and the field at fault when there is one.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var field: String?
    public var headers: HTTPFields
    /// Every problem, when a request has several (a call event's missing inputs).
    public var problems: [String]

    public init(
        _ status: HTTPResponse.Status, code: String, message: String, field: String? = nil, headers: HTTPFields = [:],
        problems: [String] = []
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
        self.problems = problems
    }

    public static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(.unprocessableContent, code: "invalid_field", message: message, field: field)
    }

    public static func notFound(_ what: String) -> APIError {
        APIError(.notFound, code: "not_found", message: "\(what) not found for this API key's business.")
    }

    struct Envelope: Encodable {
        struct Body: Encodable {
            var code: String
            var message: String
            var field: String?
            var problems: [String]?
        }
        var error: Body
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Envelope.Body(code: code, message: message, field: field, problems: problems.isEmpty ? nil : problems)
        var response = try JSON.response(Envelope(error: body), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

/// JSON shared by every API route: responses encoded with snake_case keys as declared and
/// RFC 3339 times; request bodies decoded with keys as declared (see `APIRequestDecoder`).
enum JSON {
    static let decoder = JSONDecoder()

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.string(from: date))
        }
        return encoder
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let body: ByteBuffer
        if let page = value as? any PageJSON {
            var json = JSONBytes(capacity: 16_384)
            page.write(to: &json)
            body = ByteBuffer(bytes: json.bytes)
        } else {
            body = ByteBuffer(bytes: try encoder.encode(value))
        }
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: body))
    }
}

/// RFC 3339 timestamps with an offset, both ways.
enum RFC3339 {
    /// `2026-11-25T15:00:00Z`, by hand (see `CivilTime`): the inbox formats two times per message.
    static func string(from date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `2026-11-25T15:00:00Z` as UTF-8.
    static func append(_ date: Date, to bytes: inout [UInt8]) {
        CivilTime(date).append(to: &bytes, separator: UInt8(ascii: "T"))
        bytes.append(UInt8(ascii: "Z"))
    }

    /// Parses `2026-12-01T15:30:00-05:00` or `...Z`; a time without an offset, or outside
    /// the years 2000 to 9999, is refused.
    static func date(from text: String) -> Date? {
        guard text.count >= 20, text.contains("T") || text.contains("t") else { return nil }
        let tail = text.suffix(6)
        let hasOffset =
            text.hasSuffix("Z") || text.hasSuffix("z") || ((tail.first == "+" || tail.first == "-") && tail.dropFirst(3).first == ":")
        guard hasOffset else { return nil }
        let upper = text.uppercased()
        guard
            let date = (try? Date(upper, strategy: .iso8601))
                ?? (try? Date(upper, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        else { return nil }
        // Years 2000 through 9999 only: SQLite's date text has four-digit years.
        return (946_684_800.0...253_402_300_799.0).contains(date.timeIntervalSince1970) ? date : nil
    }
}
