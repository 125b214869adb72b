/// One `<Message>` of a TwiML response.
public struct TwiMLMessage: Sendable, Hashable {
    public var body: String
    public var mediaURLs: [String]

    public init(body: String, mediaURLs: [String] = []) {
        self.body = body
        self.mediaURLs = mediaURLs
    }
}

/// Renders Twilio's reply format. Pure and allocation-light: one string, appended once.
public enum TwiML {
    public static let contentType = "text/xml; charset=utf-8"
    public static let maxMessages = 10
    public static let maxMediaPerMessage = 10
    public static let maxBodyCharacters = 1600
    static let header = #"<?xml version="1.0" encoding="UTF-8"?>"#

    /// `<Response/>` for no messages; otherwise one `<Message>` each, the text alone when
    /// there is no media and `<Body>` beside `<Media>` when there is. Provider limits are
    /// applied: at most 10 messages, 10 media each, 1,600 characters of body.
    public static func render(_ messages: [TwiMLMessage]) -> String {
        guard !messages.isEmpty else { return header + "<Response/>" }
        var xml = header
        xml.reserveCapacity(header.utf8.count + 32 + messages.reduce(0) { $0 + $1.body.utf8.count + 24 })
        xml += "<Response>"
        for message in messages.prefix(maxMessages) {
            let body = message.body.count > maxBodyCharacters ? String(message.body.prefix(maxBodyCharacters)) : message.body
            xml += "<Message>"
            if message.mediaURLs.isEmpty {
                appendEscaped(body, to: &xml)
            } else {
                if !body.isEmpty {
                    xml += "<Body>"
                    appendEscaped(body, to: &xml)
                    xml += "</Body>"
                }
                for url in message.mediaURLs.prefix(maxMediaPerMessage) {
                    xml += "<Media>"
                    appendEscaped(url, to: &xml)
                    xml += "</Media>"
                }
            }
            xml += "</Message>"
        }
        xml += "</Response>"
        return xml
    }

    /// Escapes `&`, `<`, `>` and drops what XML 1.0 cannot carry at all (control
    /// characters other than tab, line feed and carriage return; lone surrogates cannot
    /// occur in a Swift string).
    static func appendEscaped(_ text: String, to xml: inout String) {
        var clean = true
        for byte in text.utf8
        where byte == 0x26 || byte == 0x3C || byte == 0x3E || (byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D) || byte == 0xEF
        {
            clean = false
            break
        }
        if clean {
            xml += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": xml += "&amp;"
            case "<": xml += "&lt;"
            case ">": xml += "&gt;"
            case "\t", "\n", "\r": xml.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: continue
            default: xml.unicodeScalars.append(scalar)
            }
        }
    }
}
