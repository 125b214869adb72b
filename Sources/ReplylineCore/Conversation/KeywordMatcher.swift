import Foundation

/// Normalizes message text and finds the keyword intent it names.
///
/// A keyword matches only when it is the whole message once normalized: Unicode NFKC
/// (full-width `ＳＴＯＰ` is `STOP`), white space, punctuation, symbols and emoji trimmed
/// from both ends, inner white space collapsed, letters upper-cased.
public struct KeywordMatcher: Sendable {
    public enum Match: Sendable, Hashable {
        case keyword(KeywordIntent)
        case custom(String)
    }

    let table: [String: Match]
    let optInWhileOptedOut: Set<String>

    public init(rules: Rules) {
        var table: [String: Match] = [:]
        for (intent, words) in rules.keywords {
            for word in words { table[word] = .keyword(intent) }
        }
        for word in rules.custom.keys { table[word] = .custom(word) }
        self.table = table
        self.optInWhileOptedOut = Set(rules.optInWhileOptedOut)
    }

    public func match(normalized: String) -> Match? { table[normalized] }

    public func isOptInWhileOptedOut(normalized: String) -> Bool { optInWhileOptedOut.contains(normalized) }

    /// The normalized form of `text` that keywords are compared against.
    public static func normalize(_ text: String) -> String {
        // Plain ASCII is already NFKC and needs no Unicode tables: bytes in, bytes out.
        text.utf8.allSatisfy({ $0 < 0x80 }) ? normalizeASCII(text) : normalizeUnicode(text)
    }

    /// `normalize` through Unicode's tables: NFKC, then the trimming and case rules.
    static func normalizeUnicode(_ text: String) -> String {
        let folded = text.precomposedStringWithCompatibilityMapping
        let scalars = folded.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isTrimmed($0) }),
            let last = scalars.lastIndex(where: { !isTrimmed($0) })
        else { return "" }
        var result = ""
        result.reserveCapacity(folded.utf8.count)
        var pendingSpace = false
        for scalar in scalars[first...last] {
            if scalar.properties.isWhitespace || isInvisible(scalar) {
                pendingSpace = scalar.properties.isWhitespace || pendingSpace
                continue
            }
            if pendingSpace { result.unicodeScalars.append(" ") }
            pendingSpace = false
            if scalar.isASCII {
                let value = scalar.value
                result.unicodeScalars.append(value >= 0x61 && value <= 0x7A ? Unicode.Scalar(value - 32)! : scalar)
            } else {
                result += scalar.properties.uppercaseMapping
            }
        }
        return result
    }

    /// `normalize` for ASCII text, the same rules on bytes: trim everything but letters and
    /// digits from both ends, collapse white space, drop control characters, upper-case.
    static func normalizeASCII(_ text: String) -> String {
        let bytes = text.utf8
        func kept(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 || byte >= 0x41 && byte <= 0x5A || byte >= 0x61 && byte <= 0x7A }
        guard let first = bytes.firstIndex(where: kept), let last = bytes.lastIndex(where: kept) else { return "" }
        return String(unsafeUninitializedCapacity: bytes.count) { buffer in
            var count = 0
            var pendingSpace = false
            for byte in bytes[first...last] {
                let isSpace = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
                if isSpace || byte < 0x20 || byte == 0x7F {
                    pendingSpace = isSpace || pendingSpace
                    continue
                }
                if pendingSpace {
                    buffer[count] = 0x20
                    count += 1
                }
                pendingSpace = false
                buffer[count] = byte >= 0x61 && byte <= 0x7A ? byte - 32 : byte
                count += 1
            }
            return count
        }
    }

    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .format, .control: true
        default: false
        }
    }

    /// White space, punctuation, symbols (emoji among them), and the invisible marks that
    /// glue emoji together.
    static func isTrimmed(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return !(v >= 0x30 && v <= 0x39 || v >= 0x41 && v <= 0x5A || v >= 0x61 && v <= 0x7A)
        }
        switch scalar.properties.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
            .nonspacingMark, .enclosingMark, .unassigned, .privateUse, .surrogate:
            return true
        default:
            return false
        }
    }
}
