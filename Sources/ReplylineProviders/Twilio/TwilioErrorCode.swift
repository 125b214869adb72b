/// Twilio's error codes: what each means, for reports and the thread view, and what a
/// send refused with one does (twilio.com/docs/api/errors).
public enum TwilioErrorCode {
    public static let errors: [String: ProviderError] = [
        "21211": ProviderError(
            meaning: "invalid 'To' phone number", consequence: .invalidNumber,
            advice: "The number is not a valid phone number. Check it with the client and correct their record."),
        "21408": ProviderError(
            meaning: "sending to this region is not enabled",
            advice:
                "Texts to this country are switched off in the Twilio account's geographic permissions. Call instead, or ask the account owner."
        ),
        "21610": ProviderError(
            meaning: "the recipient replied STOP (unsubscribed)", consequence: .optedOut,
            advice: "The client unsubscribed. No texts can reach them until they reply START; call instead."),
        "21614": ProviderError(
            meaning: "'To' is not a mobile number", consequence: .invalidNumber,
            advice: "The number is a landline and cannot receive texts. Call instead, or ask for a mobile number."),
        "30001": ProviderError(
            meaning: "queue overflow", advice: "Twilio was sending too much at once. Send the message again in a few minutes."),
        "30002": ProviderError(
            meaning: "account suspended", advice: "The Twilio account is suspended. Ask the account owner to contact Twilio."),
        "30003": ProviderError(
            meaning: "unreachable destination handset",
            advice: "The phone is off or out of coverage. Try again later, or call."),
        "30004": ProviderError(
            meaning: "message blocked", advice: "The client's phone or carrier blocks texts from this number. Call instead."),
        "30005": ProviderError(
            meaning: "unknown destination handset",
            advice: "The number does not exist or is no longer in service. Check it with the client."),
        "30006": ProviderError(
            meaning: "landline or unreachable carrier",
            advice: "The number is a landline and cannot receive texts. Call instead."),
        "30007": ProviderError(
            meaning: "carrier filtered (spam)",
            advice: "The carrier took the text for spam. Rephrase it (fewer links and capitals), or call."),
        "30008": ProviderError(meaning: "unknown error", advice: "The carrier did not say why. Send it again later, or call."),
        "30034": ProviderError(
            meaning: "message from an unregistered number (A2P 10DLC)",
            advice:
                "The sending number is not registered for business texting in the US. Ask the account owner to finish A2P 10DLC registration."
        ),
    ]

    /// The code's entry; an unknown code points at Twilio's page for it.
    public static func error(_ code: String) -> ProviderError {
        errors[code] ?? ProviderError(meaning: "see twilio.com/docs/api/errors/\(code)")
    }

    public static func meaning(_ code: String) -> String { error(code).meaning }
}
