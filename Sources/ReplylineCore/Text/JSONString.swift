/// JSON string literals (RFC 8259 escapes), for the paths that write JSON by hand instead of
/// with JSONEncoder: the stored webhook parameters and the inbox pages, where the encoder
/// was most of the time.
public enum JSONString {
    static let hex = Array("0123456789abcdef".utf8)

    /// Appends `text` quoted and escaped; UTF-8 beyond ASCII passes through as is.
    public static func append(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendValid($0, to: &bytes) }
    }

    /// Appends the UTF-8 `text` quoted and escaped. Bytes that are not valid UTF-8 are
    /// replaced by U+FFFD, as `String(decoding:as:)` does, so the JSON is always valid.
    public static func append(utf8 text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        // Most stored values are printable ASCII: one scan, then one copy in `appendValid`.
        let plain = text.firstIndex(where: { $0 < 0x20 || $0 >= 0x80 || $0 == 0x22 || $0 == 0x5C }) ?? text.endIndex
        if text[plain...].contains(where: { $0 >= 0x80 }), String(validating: text, as: UTF8.self) == nil {
            append(String(decoding: text, as: UTF8.self), to: &bytes)
        } else {
            appendValid(text, to: &bytes, from: plain)
        }
    }

    /// `text` quoted and escaped; its bytes before `from` need no escape.
    static func appendValid(_ text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8], from: Int = 0) {
        bytes.append(UInt8(ascii: "\""))
        var start = 0
        for index in from..<text.count where text[index] < 0x20 || text[index] == 0x22 || text[index] == 0x5C {
            let byte = text[index]
            bytes.append(contentsOf: text[start..<index])
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case 0x22, 0x5C: bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            default: bytes += [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
            start = index + 1
        }
        bytes.append(contentsOf: text[start...])
        bytes.append(UInt8(ascii: "\""))
    }
}
