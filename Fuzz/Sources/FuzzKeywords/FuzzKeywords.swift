import Foundation
import FuzzSupport
import ReplylineCore

/// The program's entry point: SwiftPM links `main` to `FuzzKeywords_main` (see LibFuzzerDriver.h).
@_cdecl("FuzzKeywords_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv)
}

/// The rules that ship, loaded once, on first use.
let rules: Rules = {
    let url = repositoryRoot.appendingPathComponent("Rules/default.yml")
    do {
        return try RulesLoader.load(yaml: String(contentsOf: url, encoding: .utf8), file: "Rules/default.yml")
    } catch {
        fatalError("cannot load \(url.path): \(error)")
    }
}()
let matcher = KeywordMatcher(rules: rules)
let engine = ConversationEngine(rules: rules)
let now = Date(timeIntervalSince1970: 1_795_618_800)

/// The keyword normalizer, matcher and conversation engine on any text (the input as UTF-8,
/// invalid sequences replaced):
/// - the normalized text has no white space at its ends, no double spaces, no white space
///   but U+0020, no control or format characters and no lower-case ASCII letters; for ASCII
///   input it is exactly what a plain model of the documented rules gives;
/// - the matcher finds a word exactly when the rules list it;
/// - `decide` never crashes, sends an opted-out contact only opt-out, opt-in and HELP replies,
///   nothing at all when the provider already acted, and changes consent and appointments
///   only in ways the states allow.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    let normalized = KeywordMatcher.normalize(text)
    let shown = "\(String(reflecting: text)) normalized to \(String(reflecting: normalized))"

    require(!normalized.hasPrefix(" ") && !normalized.hasSuffix(" ") && !normalized.contains("  "), "spaces not trimmed: \(shown)")
    for scalar in normalized.unicodeScalars {
        require(!scalar.properties.isWhitespace || scalar == " ", "white space other than U+0020 left: \(shown)")
        let category = scalar.properties.generalCategory
        require(category != .control && category != .format, "invisible U+\(String(scalar.value, radix: 16)) left: \(shown)")
        require(!("a"..."z").contains(scalar), "lower-case letter left: \(shown)")
    }
    if bytes.allSatisfy({ $0 < 0x80 }) {
        let expected = normalizeASCII(Array(bytes))
        require(sameBytes(normalized, expected), "\(shown), expected \(String(reflecting: expected))")
    }

    switch matcher.match(normalized: normalized) {
    case .keyword(let intent)?:
        require(rules.keywords[intent, default: []].contains(normalized), "\(shown) matched \(intent), which does not list it")
    case .custom(let word)?:
        require(word == normalized && rules.custom[word] != nil, "\(shown) matched custom keyword \(String(reflecting: word))")
    case nil:
        require(
            !rules.keywords.values.contains { $0.contains(normalized) } && rules.custom[normalized] == nil,
            "\(shown) matched nothing, but the rules list it")
    }
    require(
        matcher.isOptInWhileOptedOut(normalized: normalized) == rules.optInWhileOptedOut.contains(normalized),
        "opt-in-while-opted-out disagrees with the rules for \(shown)")

    // The engine, for each consent state and a few sets of appointments. What the provider
    // already did (Twilio's OptOutType), one appointment's time (up to the year 9600, as far
    // as the API's RFC 3339 times reach) and its amount come from a hash of the input.
    let hash = bytes.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    let providerOptOut: ProviderOptOut? = [.stop, .start, .help][safe: Int(hash % 16)]
    let message = InboundText(body: text, mediaCount: Int((hash >> 8) % 3), providerOptOut: providerOptOut)
    let day: TimeInterval = 86_400
    let appointmentSets: [[Appointment]] = [
        [],
        [
            Appointment(id: "a1", customerName: "Ana", service: "Cleaning", startsAt: now + day, state: .awaitingReply),
            Appointment(id: "a2", service: "Exam", startsAt: now + 3 * day, amountCents: 12_500, state: .confirmed),
        ],
        [
            Appointment(id: "b1", service: "Cleaning", startsAt: now + day, state: .cancelled),
            Appointment(id: "b2", service: "Exam", startsAt: now + 2 * day, state: .completed),
            Appointment(id: "b3", service: "X-ray", startsAt: now - 3600, state: .awaitingReply),
        ],
        [
            Appointment(
                id: "c1", customerName: text, service: text, startsAt: now + 1800 + TimeInterval((hash >> 24) % 240_000_000_000),
                amountCents: Int(truncatingIfNeeded: hash), state: .rescheduleRequested),
            Appointment(id: "c2", service: "Whitening", startsAt: now + 2 * day, state: .scheduled),
        ],
    ]
    for consent in [ConsentState.optedIn, .optedOut] {
        for (index, appointments) in appointmentSets.enumerated() {
            let contact = ContactSnapshot(
                consent: consent, customerName: index == 1 ? nil : text, upcomingAppointments: appointments,
                lastUnrecognizedReplyAt: index == 2 ? now - 3600 : nil)
            check(engine.decide(message, contact: contact, now: now), contact: contact, message: message)
        }
    }
    return 0
}

func check(_ decision: Decision, contact: ContactSnapshot, message: InboundText) {
    let context =
        "\(String(reflecting: message.body)) (\(message.providerOptOut.map { "OptOutType \($0)" } ?? "no OptOutType"), "
        + "\(contact.consent), appointments \(contact.upcomingAppointments.map { "\($0.id) \($0.state)" })) decided \(decision)"
    if message.providerOptOut != nil {
        require(decision.intent == .providerConsent && decision.replies.isEmpty, "the provider already acted, yet \(context)")
    }
    if contact.consent == .optedOut, !decision.replies.isEmpty {
        require([.optOut, .optIn, .help].contains(decision.intent), "an opted-out contact got a reply: \(context)")
    }
    if let change = decision.consentChange {
        require(change.to != contact.consent, "a consent change to the same state: \(context)")
    }
    if let change = decision.appointmentChange {
        let appointment = contact.upcomingAppointments.first { $0.id == change.appointmentID }
        require(
            appointment?.state == change.from && change.from.canMove(to: change.to) && appointment!.startsAt > now,
            "an appointment change the states do not allow: \(context)")
    }
}

/// KeywordMatcher's documented normalization, for ASCII text: letters and digits at both
/// ends, runs of white space inside as one space, control characters dropped, letters upper-cased.
func normalizeASCII(_ bytes: [UInt8]) -> String {
    func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
    guard let first = bytes.firstIndex(where: isAlphanumeric), let last = bytes.lastIndex(where: isAlphanumeric) else { return "" }
    var out: [UInt8] = []
    var pendingSpace = false
    for byte in bytes[first...last] {
        if byte == 0x20 || (0x09...0x0D).contains(byte) {
            pendingSpace = true
        } else if byte >= 0x20 && byte != 0x7F {
            if pendingSpace { out.append(0x20) }
            pendingSpace = false
            out.append((0x61...0x7A).contains(byte) ? byte - 0x20 : byte)
        }
    }
    return String(decoding: out, as: UTF8.self)
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
