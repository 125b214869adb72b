/// An `application/x-www-form-urlencoded` body, decoded into its name/value pairs in order.
///
/// Written by hand because Foundation's URLComponents neither turns `+` into a space nor
/// rejects broken percent-escapes or invalid UTF-8, and webhook signatures depend on every
/// pair exactly as sent (repeated names included).
public struct FormBody: Sendable, Equatable {
    public var pairs: [(name: String, value: String)]

    public init(pairs: [(name: String, value: String)]) { self.pairs = pairs }

    public static func == (lhs: FormBody, rhs: FormBody) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs, by: { $0 == $1 })
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        pairs.first(where: { $0.name == name })?.value
    }

    public static func decode(_ text: String) throws(WebhookError) -> FormBody {
        try decode(Array(text.utf8))
    }

    public static func decode(_ bytes: [UInt8]) throws(WebhookError) -> FormBody {
        try bytes.withUnsafeBytes { buffer in Result { () throws(WebhookError) in try decode(buffer) } }.get()
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(WebhookError) -> FormBody {
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(24)
        var start = 0
        let count = bytes.count
        while start <= count {
            var end = start
            while end < count, bytes[end] != UInt8(ascii: "&") { end += 1 }
            if end > start {
                var equals = start
                while equals < end, bytes[equals] != UInt8(ascii: "=") { equals += 1 }
                let name = try component(bytes, start, equals, label: "the name of pair \(pairs.count + 1)")
                if name.isEmpty { throw .malformedForm("pair \(pairs.count + 1) has an empty name") }
                let value = equals < end ? try component(bytes, equals + 1, end, label: "the value of \(name.prefix(40))") : ""
                pairs.append((name, value))
            }
            start = end + 1
        }
        return FormBody(pairs: pairs)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The UTF-8 `text` as a String, nil when it is not valid UTF-8. ASCII is valid as it
    /// stands: `String(validating:)` costs a generic metadata lookup per call, and nearly
    /// every name and value here is ASCII.
    static func string(_ text: UnsafeRawBufferPointer, ascii: Bool) -> String? {
        ascii ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
    }

    static func component(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int, label: @autoclosure () -> String) throws(WebhookError)
        -> String
    {
        var plain = true
        var ascii = true
        for index in from..<to {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "+") {
                plain = false
                break
            }
            if byte >= 0x80 { ascii = false }
        }
        let decoded: String?
        if plain {
            decoded = string(UnsafeRawBufferPointer(rebasing: bytes[from..<to]), ascii: ascii)
        } else {
            var out: [UInt8] = []
            out.reserveCapacity(to - from)
            var index = from
            while index < to {
                let byte = bytes[index]
                if byte == UInt8(ascii: "+") {
                    out.append(UInt8(ascii: " "))
                } else if byte == UInt8(ascii: "%") {
                    guard index + 2 < to, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                        let escape = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<min(index + 3, to)]), as: UTF8.self)
                        throw .malformedForm("\(label()) has a broken percent-escape `\(escape)`; a % must be followed by two hex digits")
                    }
                    out.append(high << 4 | low)
                    index += 2
                } else {
                    out.append(byte)
                }
                index += 1
            }
            decoded = out.withUnsafeBytes { string($0, ascii: !$0.contains { $0 >= 0x80 }) }
        }
        guard let decoded else { throw .invalidUTF8(label()) }
        return decoded
    }
}

extension FormBody {
    /// True for `application/x-www-form-urlencoded`, in any case, with or without parameters
    /// and the spaces around them.
    public static func isContentType(_ contentType: String) -> Bool {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var mediaType = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        while let first = mediaType.first, isSpace(first) { mediaType.removeFirst() }
        while let last = mediaType.last, isSpace(last) { mediaType.removeLast() }
        return mediaType.elementsEqual(formType) { byte, expected in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 == expected : byte == expected
        }
    }

    private static let formType = Array("application/x-www-form-urlencoded".utf8)
}
