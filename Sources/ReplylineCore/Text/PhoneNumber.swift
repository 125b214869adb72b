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
    public init?(_ text: String, defaultCountry: String = "US") {
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
}
