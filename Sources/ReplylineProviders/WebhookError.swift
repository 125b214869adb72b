/// Why a webhook request was refused. Each case says what was wrong and how to fix it;
/// none echoes a secret. The HTTP status for each is decided in one place, by the server.
public enum WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedMediaType(String?)
    case bodyTooLarge(limit: Int)
    case malformedForm(String)
    case invalidUTF8(String)
    case missingParameter(String)
    case invalidParameter(String, String)
    /// A `From` or `To` on another channel than SMS (`whatsapp:+1…`): the parameter and the channel.
    case unsupportedChannel(String, String)
    case missingSignature
    case badSignature
    case signatureKeyNotConfigured
    case unknownNumber(String)
    /// A text to a number whose business uses another provider: the number and that provider.
    case otherProvider(String, String)

    public var description: String {
        // Every string here may hold request bytes: shown escaped and cut short, so an
        // error can never split a log line or an HTTP header, nor echo a whole body.
        switch self.escaped {
        case .unsupportedMediaType(let type):
            "Content-Type must be application/x-www-form-urlencoded (got \(type.map { "`\($0)`" } ?? "none")). Point the provider's webhook at this URL with HTTP POST."
        case .bodyTooLarge(let limit):
            "Request body is larger than \(limit / 1024) KiB. Provider webhooks are far smaller; check what is posting here."
        case .malformedForm(let detail):
            "Malformed form body: \(detail). Send application/x-www-form-urlencoded name=value pairs joined by &."
        case .invalidUTF8(let field):
            "The form body is not valid UTF-8: \(field). Percent-encode text as UTF-8."
        case .missingParameter(let name):
            "Missing required parameter \(name). Provider webhooks always carry it; check the sender."
        case .invalidParameter(let name, let reason):
            "Invalid parameter \(name): \(reason)."
        case .unsupportedChannel(let name, let channel):
            "Parameter \(name) is a \(channel): address, but Replyline handles SMS and MMS only. Point that channel's webhook at a service that handles \(channel)."
        case .missingSignature:
            "Missing X-Twilio-Signature header. Requests must be signed by Twilio with the account's auth token."
        case .badSignature:
            "X-Twilio-Signature does not match. Check that the auth token is the account's and that --public-url is the exact URL configured in Twilio."
        case .signatureKeyNotConfigured:
            "The request is signed with a shared key (X-Twilio-Webhooks-Signature-Settings) but TWILIO_WEBHOOK_SHARED_KEY is not set."
        case .unknownNumber(let number):
            "No business receives texts on \(number). Add it to `business.numbers` in the business's rules file."
        case .otherProvider(let number, let provider):
            "The business receiving on \(number) uses \(provider). Point the number's webhook at /webhooks/\(provider)/messages, or set that business's `provider`."
        }
    }

    /// The same error with every string made `printable`.
    var escaped: WebhookError {
        switch self {
        case .unsupportedMediaType(let type): .unsupportedMediaType(type.map { Self.printable($0) })
        case .malformedForm(let detail): .malformedForm(Self.printable(detail, limit: 160))
        case .invalidUTF8(let field): .invalidUTF8(Self.printable(field))
        case .missingParameter(let name): .missingParameter(Self.printable(name))
        case .invalidParameter(let name, let reason): .invalidParameter(Self.printable(name), Self.printable(reason, limit: 160))
        case .unsupportedChannel(let name, let channel): .unsupportedChannel(Self.printable(name), Self.printable(channel))
        case .unknownNumber(let number): .unknownNumber(Self.printable(number))
        case .otherProvider(let number, let provider): .otherProvider(Self.printable(number), provider)
        case .bodyTooLarge, .missingSignature, .badSignature, .signatureKeyNotConfigured: self
        }
    }

    /// `text` cut to `limit` characters, with control, format and unassigned characters
    /// written as `\u{…}` escapes: what a log line or a plain-text body can safely hold.
    public static func printable(_ text: String, limit: Int = 64) -> String {
        var out = ""
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if index == limit {
                out += "…"
                break
            }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
