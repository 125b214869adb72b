import Foundation
import ReplylineCore

/// Reads Twilio's inbound-message webhook parameters into an `InboundMessage`.
///
/// Pure: numbers are checked for shape and channel here, and normalized by the server once
/// it knows the business's country.
public enum TwilioInbound {
    public static let provider = TwilioProvider.name

    public static func parse(_ form: FormBody) throws(WebhookError) -> InboundMessage {
        func required(_ name: String) throws(WebhookError) -> String {
            guard let value = form[name].map(trimmed), !value.isEmpty else {
                throw .missingParameter(name)
            }
            return value
        }
        let sid = try required("MessageSid")
        guard sid.utf8.count <= 64, sid.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidParameter("MessageSid", "expected an id like SM followed by 32 hex digits")
        }
        let from = try required("From")
        let to = try required("To")
        for (name, value) in [("From", from), ("To", to)] {
            if value.utf8.count > 64 || value.utf8.contains(where: { $0 < 0x20 }) {
                throw .invalidParameter(name, "expected a phone number such as +15551234567")
            }
            if let channel = channel(of: value) { throw .unsupportedChannel(name, channel) }
        }
        var media: [InboundMessage.Media] = []
        var dropped: [String] = []
        if let countText = form["NumMedia"] {
            guard let count = Int(countText), (0...TwiML.maxMediaPerMessage).contains(count) else {
                throw .invalidParameter(
                    "NumMedia", "expected a whole number from 0 to \(TwiML.maxMediaPerMessage), got `\(countText.prefix(20))`")
            }
            for index in 0..<count {
                guard let url = form["MediaUrl\(index)"], !url.isEmpty else {
                    throw .invalidParameter("NumMedia", "it is \(count) but MediaUrl\(index) is missing")
                }
                guard isWebURL(url) else {
                    dropped.append("MediaUrl\(index)")
                    continue
                }
                media.append(.init(url: url, contentType: form["MediaContentType\(index)"]))
            }
        }
        let optOut = form["OptOutType"].flatMap { ProviderOptOut(rawValue: $0.uppercased()) }
        return InboundMessage(
            provider: provider, providerMessageID: sid, accountID: form["AccountSid"],
            messagingServiceID: form["MessagingServiceSid"], from: from, to: to, body: withoutNUL(form["Body"] ?? ""),
            media: media, providerOptOut: optOut, parameters: form.pairs, droppedMedia: dropped)
    }

    /// The channel of a Twilio address such as `whatsapp:+14155550100` or `messenger:123`
    /// (letters before a colon), or nil for a plain number. Replyline speaks SMS and MMS
    /// only: its replies and sends would not reach a WhatsApp or Messenger user.
    static func channel(of address: String) -> String? {
        guard let colon = address.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let prefix = address.utf8[..<colon]
        let isLetter = { (byte: UInt8) in (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) }
        guard (1...20).contains(prefix.count), prefix.allSatisfy(isLetter) else { return nil }
        return String(address[..<colon]).lowercased()
    }

    /// True for an absolute http or https URL with a host and no control characters or
    /// spaces: the only media URLs kept, since they are served back to staff as links
    /// (`javascript:`, `data:` or `file:` ones are dropped).
    static func isWebURL(_ text: String) -> Bool {
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || (0x7F...0x9F).contains($0.value) }),
            let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return false }
        return true
    }
}

/// `text` without leading and trailing spaces and tabs (Foundation's trimming bridges
/// through NSString, which showed in profiles of the webhook path).
func trimmed(_ text: String) -> String {
    let utf8 = text.utf8
    guard let first = utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
    let last = utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
    if first == utf8.startIndex, last == utf8.index(before: utf8.endIndex) { return text }
    return String(text[first...last])
}

/// `text` with each NUL as U+FFFD. No phone sends NUL, and SQLite text bound by GRDB ends
/// at the first one, so the body stored, decided on and shown is this one.
func withoutNUL(_ text: String) -> String {
    text.utf8.contains(0) ? String(text.unicodeScalars.map { $0 == "\0" ? "\u{FFFD}" : Character($0) }) : text
}
