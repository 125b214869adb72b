/// Twilio's error codes: what each means, for reports and the thread view, and what a
/// send refused with one does (twilio.com/docs/api/errors).
public enum TwilioErrorCode {
    public static let errors: [String: ProviderError] = [
        "21211": ProviderError(meaning: "invalid 'To' phone number", consequence: .invalidNumber),
        "21408": ProviderError(meaning: "sending to this region is not enabled"),
        "21610": ProviderError(meaning: "the recipient replied STOP (unsubscribed)", consequence: .optedOut),
        "21614": ProviderError(meaning: "'To' is not a mobile number", consequence: .invalidNumber),
        "30001": ProviderError(meaning: "queue overflow"),
        "30002": ProviderError(meaning: "account suspended"),
        "30003": ProviderError(meaning: "unreachable destination handset"),
        "30004": ProviderError(meaning: "message blocked"),
        "30005": ProviderError(meaning: "unknown destination handset"),
        "30006": ProviderError(meaning: "landline or unreachable carrier"),
        "30007": ProviderError(meaning: "carrier filtered (spam)"),
        "30008": ProviderError(meaning: "unknown error"),
        "30034": ProviderError(meaning: "message from an unregistered number (A2P 10DLC)"),
    ]

    /// The code's entry; an unknown code points at Twilio's page for it.
    public static func error(_ code: String) -> ProviderError {
        errors[code] ?? ProviderError(meaning: "see twilio.com/docs/api/errors/\(code)")
    }

    public static func meaning(_ code: String) -> String { error(code).meaning }
}
