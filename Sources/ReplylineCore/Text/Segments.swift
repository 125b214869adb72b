/// The character set an SMS is sent in: GSM-7 when every character is in the GSM 03.38
/// alphabet (basic or extension table), UCS-2 otherwise.
public enum SMSEncoding: String, Sendable, Codable, Hashable {
    case gsm7 = "GSM-7"
    case ucs2 = "UCS-2"
}

/// How many SMS segments a body takes, counted the way carriers bill it.
public struct SegmentCount: Sendable, Hashable {
    public var encoding: SMSEncoding
    /// Septets for GSM-7 (extension characters count two), UTF-16 code units for UCS-2.
    public var units: Int
    public var segments: Int
}

/// Counts segments: GSM-7 fits 160 septets in one part or 153 per part of a concatenated
/// message, UCS-2 70 or 67. An escape pair (GSM-7 extension) or a surrogate pair (UCS-2)
/// is never split across parts.
public enum SegmentCounter {
    static let basic: Set<Unicode.Scalar> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
            .unicodeScalars)
    static let extended: Set<Unicode.Scalar> = Set("^{}\\[]~|€\u{0C}".unicodeScalars)

    /// True when `scalar` is in the GSM 03.38 basic or extension table.
    public static func isGSM7(_ scalar: Unicode.Scalar) -> Bool { basic.contains(scalar) || extended.contains(scalar) }

    /// Septets per ASCII byte: 1 in the basic table, 2 in the extension table, 0 when the
    /// byte is not GSM-7 at all (backtick, most control characters).
    static let asciiWidths: [UInt8] = (0..<128).map { byte in
        let scalar = Unicode.Scalar(UInt8(byte))
        return basic.contains(scalar) ? 1 : extended.contains(scalar) ? 2 : 0
    }

    public static func count(_ text: String) -> SegmentCount {
        // Most replies and texts are plain ASCII: count them without building scalar sets.
        if text.utf8.allSatisfy({ $0 < 0x80 && asciiWidths[Int($0)] != 0 }) {
            var widths: [Int] = []
            widths.reserveCapacity(text.utf8.count)
            for byte in text.utf8 { widths.append(Int(asciiWidths[Int(byte)])) }
            return SegmentCount(encoding: .gsm7, units: widths.reduce(0, +), segments: parts(widths, single: 160, multi: 153))
        }
        var septets: [Int] = []
        septets.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if basic.contains(scalar) {
                septets.append(1)
            } else if extended.contains(scalar) {
                septets.append(2)
            } else {
                var widths: [Int] = []
                widths.reserveCapacity(septets.count + 16)
                for scalar in text.unicodeScalars { widths.append(scalar.utf16.count) }
                return SegmentCount(
                    encoding: .ucs2, units: widths.reduce(0, +),
                    segments: parts(widths, single: 70, multi: 67))
            }
        }
        return SegmentCount(
            encoding: .gsm7, units: septets.reduce(0, +),
            segments: parts(septets, single: 160, multi: 153))
    }

    /// Packs indivisible units (1 or 2 wide) into parts without splitting any of them.
    static func parts(_ widths: [Int], single: Int, multi: Int) -> Int {
        let total = widths.reduce(0, +)
        if total == 0 { return 1 }
        if total <= single { return 1 }
        var parts = 1
        var used = 0
        for width in widths {
            if used + width > multi {
                parts += 1
                used = 0
            }
            used += width
        }
        return parts
    }
}
