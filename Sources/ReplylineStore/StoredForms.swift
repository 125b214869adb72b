import Foundation
import ReplylineCore

/// A message's media and provider parameters as both stores keep them: JSON text, the
/// provider's record as it came.
extension StoredMessage {
    /// The media stored as `json` (see `encodeMedia`).
    public static func decodeMedia(_ json: String) -> [InboundMessage.Media] {
        guard json != "[]" else { return [] }
        return (try? JSONDecoder().decode([MediaJSON].self, from: Data(json.utf8)))?.map {
            InboundMessage.Media(url: $0.url, contentType: $0.content_type)
        } ?? []
    }

    struct MediaJSON: Codable {
        var url: String
        var content_type: String?
    }

    public static func encodeMedia(_ media: [InboundMessage.Media]) -> String {
        guard !media.isEmpty else { return "[]" }
        var json: [UInt8] = [UInt8(ascii: "[")]
        for (index, item) in media.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json += Array(#"{"url":"#.utf8)
            JSONString.append(item.url, to: &json)
            if let type = item.contentType {
                json += Array(#","content_type":"#.utf8)
                JSONString.append(type, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        json.append(UInt8(ascii: "]"))
        return String(decoding: json, as: UTF8.self)
    }

    /// `[["name","value"],...]`, written by hand: JSONEncoder was a sixth of the inbound
    /// path's time for what is a loop of string escapes.
    public static func encodeParameters(_ parameters: [(name: String, value: String)]) -> String {
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(parameters.reduce(2) { $0 + $1.name.utf8.count + $1.value.utf8.count + 8 })
        for (index, pair) in parameters.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.append(UInt8(ascii: "["))
            JSONString.append(pair.name, to: &json)
            json.append(UInt8(ascii: ","))
            JSONString.append(pair.value, to: &json)
            json.append(UInt8(ascii: "]"))
        }
        json.append(UInt8(ascii: "]"))
        return String(decoding: json, as: UTF8.self)
    }
}
