/// A phone number in E.164 form (`+15551234567`).
///
/// Parsing accepts the shapes people type — `(555) 123-4567`, `555.123.4567`,
/// `+1 555 123 4567`, `00 44 20 7946 0958` — and needs the business's country only when
/// the number carries no country code.
public struct PhoneNumber: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let e164: String

    public var description: String { e164 }

    public static func < (lhs: PhoneNumber, rhs: PhoneNumber) -> Bool { lhs.e164 < rhs.e164 }

    /// Country calling codes and national trunk prefixes for the countries a business may
    /// name as its default. Written here because no listed package parses phone numbers.
    static let countries: [String: (code: String, nationalLength: ClosedRange<Int>, trunk: String?)] = [
        "US": ("1", 10...10, "1"), "CA": ("1", 10...10, "1"), "GB": ("44", 9...10, "0"),
        "IE": ("353", 7...9, "0"), "AU": ("61", 9...9, "0"), "NZ": ("64", 8...10, "0"),
        "FR": ("33", 9...9, "0"), "DE": ("49", 6...11, "0"), "ES": ("34", 9...9, nil),
        "IT": ("39", 6...11, nil), "NL": ("31", 9...9, "0"), "MX": ("52", 10...10, nil),
        "BR": ("55", 10...11, "0"), "IN": ("91", 10...10, "0"), "ZA": ("27", 9...9, "0"),
    ]

    public static func isSupported(country: String) -> Bool { countries[country.uppercased()] != nil }

    /// Parses `text`, reading a number without a country code as one of `defaultCountry`
    /// (an ISO 3166 alpha-2 code). Returns nil for anything that is not a phone number.
    /// An E.164 number as staff read it: `+1 415 555 0100` for North America, the number
    /// unchanged elsewhere (where groupings differ by country).
    public static func displayed(_ e164: String) -> String {
        let digits = Array(e164.dropFirst())
        guard e164.hasPrefix("+1"), digits.count == 11, digits.allSatisfy(\.isNumber) else { return e164 }
        return "+1 \(String(digits[1...3])) \(String(digits[4...6])) \(String(digits[7...]))"
    }

    public init?(_ text: String, defaultCountry: String = "US") {
        if Self.isE164(text) {
            self.e164 = text
            return
        }
        var digits = ""
        var international = false
        var sawDigit = false
        for character in text {
            switch character {
            case "0"..."9":
                digits.append(character)
                sawDigit = true
            case "+" where !sawDigit && !international:
                international = true
            case " ", "-", ".", "(", ")", "\u{00A0}", "/":
                continue
            default:
                return nil
            }
        }
        if !international, digits.hasPrefix("00") {
            international = true
            digits.removeFirst(2)
        }
        if international {
            guard (8...15).contains(digits.count), digits.first != "0" else { return nil }
            self.e164 = "+" + digits
            return
        }
        guard let country = Self.countries[defaultCountry.uppercased()] else { return nil }
        if let trunk = country.trunk, digits.hasPrefix(trunk),
            country.nationalLength.contains(digits.count - trunk.count)
        {
            digits.removeFirst(trunk.count)
        }
        guard country.nationalLength.contains(digits.count) else { return nil }
        if country.code == "1" {
            // NANP: area code and exchange never start with 0 or 1.
            let array = Array(digits)
            guard array[0] >= "2", array[3] >= "2" else { return nil }
        }
        self.e164 = "+" + country.code + digits
    }

    /// Parses `text` without a default country: E.164 (`+15551234567`, spaces and dashes
    /// allowed), `00` and the country code, or bare digits that start with the country
    /// code (`15551234567`, as Plivo, Telnyx and Vonage write numbers). Nil for anything
    /// else, a national number or a short code included.
    public init?(withCountryCode text: String) {
        guard let first = text.unicodeScalars.first(where: { $0 != " " }) else { return nil }
        self.init(first == "+" || first == "0" ? text : "+" + text, defaultCountry: "")
    }

    /// True when `text` is already E.164 (`+`, then 8 to 15 digits, the first not 0): what
    /// Twilio sends, so the webhook's common case is recognised without allocating.
    static func isE164(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard (9...16).contains(utf8.count), utf8.first == UInt8(ascii: "+") else { return false }
        var digits = utf8.dropFirst()
        guard digits.first != UInt8(ascii: "0") else { return false }
        while let digit = digits.popFirst() {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return false }
        }
        return true
    }
}
