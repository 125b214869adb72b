/// The one check every free-text field of the JSON API passes before anything is stored:
/// no control characters. SQLite's C strings and the provider cut text at a NUL, so a
/// call follow-up once went out without its "Reply STOP to opt out" line while the 201
/// echoed the whole; ESC, DEL and C1 controls (U+0080 to U+009F) only garble a phone's
/// display or the inbox. Refused with a 422 naming the field rather than silently dropped,
/// so what the caller sent is exactly what is stored and sent.
enum APIText {
    /// Where line breaks may go.
    enum Lines {
        /// A value put into the middle of a sentence (a name, a service, an id, a URL):
        /// a line break or tab there would split the text it is rendered into, and the
        /// inbox and the consent CSV show it on one line. Every control is refused.
        case one
        /// A message or a summary: newline (U+000A) and tab stay, as a person types them.
        /// Carriage return does not: line breaks are `\n`, as the provider sends them on.
        case many
    }

    /// Throws a 422 naming `field` when `text` holds a control character `lines` does not allow.
    static func check(_ text: String, field: String, lines: Lines) throws {
        guard let (offset, scalar) = text.unicodeScalars.enumerated().first(where: { !allowed($0.element, lines) }) else { return }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: 4 - hex.count) + hex
        let fix =
            lines == .one && (scalar == "\n" || scalar == "\t")
            ? "`\(field)` is one line: remove the line break or tab (\(code)) at character \(offset + 1)."
            : "`\(field)` contains the control character \(code) at character \(offset + 1); remove it"
                + (lines == .many ? " (only newline \\n and tab are allowed)." : ".")
        throw APIError.invalid(field, fix)
    }

    static func allowed(_ scalar: Unicode.Scalar, _ lines: Lines) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: lines == .many
        case 0x00...0x1F, 0x7F...0x9F: false
        default: true
        }
    }
}
