import Foundation
import Hummingbird
import NIOCore

/// A JSON object a route accepts, read with `request.decode(as:context:)`. Its `CodingKeys`
/// are the fields the API knows: a field it does not know is refused by name rather than
/// ignored, and a value of the wrong type is refused saying what the field must hold.
protocol APIRequestBody: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
    /// What `field` must hold, said when its value is of the wrong type.
    static func expectation(for field: CodingKeys) -> String
}

extension APIRequestBody {
    /// Throws a 422 naming the first unknown key of the object `decoder` reads, in key order,
    /// and listing the known ones.
    static func refuseUnknownFields(in decoder: any Decoder) throws {
        let known = CodingKeys.allCases.map(\.stringValue)
        let sent = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        guard let unknown = sent.sorted().first(where: { !known.contains($0) }) else { return }
        let list = known.count == 2 ? "\(known[0]) and \(known[1])" : known.joined(separator: ", ")
        throw APIError.invalid(unknown, "Unknown field `\(unknown)`. Fields are \(list).")
    }

    /// What the field named `name` must hold.
    static func expectation(forFieldNamed name: String) -> String {
        CodingKeys(stringValue: name).map(expectation(for:)) ?? "`\(name)` has a value of the wrong type."
    }
}

/// The request decoder of `APIContext`: reads the body whole (up to the context's
/// `maxUploadSize`), insists on `application/json` and decodes it with `JSON.decoder`.
/// Every failure is an `APIError` that says what to fix, naming the field when there is one.
public struct APIRequestDecoder: RequestDecoder {
    static let malformed = APIError(
        .badRequest, code: "malformed_json", message: "The body is not a JSON object. Send {\"field\": value, ...}.")

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let limit = context.maxUploadSize
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "body_too_large", message: "The request body is over \(limit / 1024) KiB.")
        } catch {
            throw APIError(
                .badRequest, code: "unreadable_body",
                message: "The request body could not be read; send it whole, with a correct Content-Length.")
        }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "Send the body as application/json.")
        }
        do {
            return try JSON.decoder.decode(KnownFields<T>.self, from: Data(buffer.readableBytesView)).value
        } catch let error as DecodingError {
            throw Self.refusal(error, decoding: T.self)
        }
    }

    /// The API's answer to `error`: at the top level the body is not a JSON object; below it,
    /// the field the coding path starts with holds the wrong thing.
    static func refusal(_ error: DecodingError, decoding type: Any.Type) -> APIError {
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        case .keyNotFound(let key, let context):
            let field = (context.codingPath.first ?? key).stringValue
            return APIError.invalid(field, "`\(field)` is required.")
        @unknown default:
            return malformed
        }
        guard let field = path.first?.stringValue else { return malformed }
        let body = type as? any APIRequestBody.Type
        return APIError.invalid(field, body?.expectation(forFieldNamed: field) ?? "`\(field)` has a value of the wrong type.")
    }
}

/// Decodes `Value`, refusing first any key that an `APIRequestBody` does not know.
private struct KnownFields<Value: Decodable>: Decodable {
    var value: Value

    init(from decoder: any Decoder) throws {
        if let body = Value.self as? any APIRequestBody.Type { try body.refuseUnknownFields(in: decoder) }
        value = try Value(from: decoder)
    }
}

/// A key by its name, whatever it is: for reading the keys an object was sent with.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
