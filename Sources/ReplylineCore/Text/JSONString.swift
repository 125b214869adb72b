/// JSON string literals (RFC 8259 escapes), for the stored webhook parameters and media,
/// written by hand on the inbound path, where JSONEncoder was a sixth of the time.
public enum JSONString {
    static let hex = Array("0123456789abcdef".utf8)

    /// Appends `text` quoted and escaped; UTF-8 beyond ASCII passes through as is.
    public static func append(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendValid($0, to: &bytes) }
    }

    /// `text` quoted and escaped.
    static func appendValid(_ text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var start = 0
        for index in 0..<text.count where text[index] < 0x20 || text[index] == 0x22 || text[index] == 0x5C {
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
