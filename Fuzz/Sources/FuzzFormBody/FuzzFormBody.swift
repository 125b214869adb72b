import FuzzSupport
import ReplylineProviders

/// The program's entry point: SwiftPM links `main` to `FuzzFormBody_main` (see LibFuzzerDriver.h).
@_cdecl("FuzzFormBody_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv)
}

/// `FormBody.decode` on raw request bytes either refuses them with a form or UTF-8 error, or
/// returns one pair per non-empty `&`-separated segment, each with a name, text without
/// escapes taken as it is, that survive form encoding and decoding again unchanged, byte
/// for byte. `TwilioInbound.parse` then reads them as a message or refuses them with a
/// parameter error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let bytes = Array(input)
    let form: FormBody
    do {
        form = try FormBody.decode(bytes)
    } catch {
        switch error {
        case .malformedForm, .invalidUTF8: return 0
        default: fatalError("invariant failed: FormBody.decode threw `\(error)`, neither a form nor a UTF-8 error")
        }
    }

    let segments = bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true)
    require(
        form.pairs.count == segments.count,
        "\(form.pairs.count) pairs decoded from \(segments.count) non-empty segments: \(describe(form))")
    for (pair, segment) in zip(form.pairs, segments) {
        require(!pair.name.isEmpty, "a pair with an empty name was accepted: \(describe(form))")
        // Text without escapes is taken as it is, split at the first `=`.
        let equals = segment.firstIndex(of: UInt8(ascii: "=")) ?? segment.endIndex
        for (decoded, raw) in [(pair.name, segment[..<equals]), (pair.value, segment[min(equals + 1, segment.endIndex)...])]
        where !raw.contains(UInt8(ascii: "%")) && !raw.contains(UInt8(ascii: "+")) {
            require(decoded.utf8.elementsEqual(raw), "\(String(reflecting: decoded)) decoded from plain \(Array(raw))")
        }
    }

    // The other entry points read the same bytes the same way.
    let fromRaw = try? FormBody.decode(UnsafeRawBufferPointer(input))
    require(fromRaw.map { sameBytes(form, $0) } == true, "decode(UnsafeRawBufferPointer) differs from decode([UInt8])")
    if let text = String(validating: bytes, as: UTF8.self) {
        require((try? FormBody.decode(text)).map { sameBytes(form, $0) } == true, "decode(String) differs from decode([UInt8])")
    }

    // What the webhook does next: read the pairs as an inbound message, or refuse them.
    do {
        let message = try TwilioInbound.parse(form)
        require(
            !message.providerMessageID.isEmpty && message.providerMessageID.utf8.count <= 64 && !message.from.isEmpty
                && !message.to.isEmpty && message.media.count <= TwiML.maxMediaPerMessage,
            "TwilioInbound.parse accepted \(message) from \(describe(form))")
    } catch {
        switch error {
        case .missingParameter, .invalidParameter: break
        default: fatalError("invariant failed: TwilioInbound.parse threw `\(error)`, not a parameter error")
        }
    }

    // Round trip, with both spellings of a space and both cases of hex digits.
    for (plusForSpace, uppercaseHex) in [(true, true), (false, false)] {
        let encoded = encode(form, plusForSpace: plusForSpace, uppercaseHex: uppercaseHex)
        let again: FormBody
        do {
            again = try FormBody.decode(encoded)
        } catch {
            fatalError("invariant failed: re-encoded form `\(encoded)` does not decode: \(error); pairs \(describe(form))")
        }
        require(sameBytes(form, again), "round trip changed the pairs: \(describe(form)) became \(describe(again)) via `\(encoded)`")
    }
    return 0
}

func sameBytes(_ lhs: FormBody, _ rhs: FormBody) -> Bool {
    lhs.pairs.elementsEqual(rhs.pairs) { sameBytes($0.name, $1.name) && sameBytes($0.value, $1.value) }
}

func describe(_ form: FormBody) -> String {
    form.pairs.map { "(\(String(reflecting: $0.name)), \(String(reflecting: $0.value)))" }.joined(separator: ", ")
}

/// `application/x-www-form-urlencoded` as browsers and Twilio write it: unreserved bytes as
/// they are, everything else percent-escaped.
func encode(_ form: FormBody, plusForSpace: Bool, uppercaseHex: Bool) -> String {
    let digits = Array((uppercaseHex ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
    func escape(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "*"):
                out.append(byte)
            case UInt8(ascii: " ") where plusForSpace:
                out.append(UInt8(ascii: "+"))
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            }
        }
        return out
    }
    let pairs = form.pairs.map { escape($0.name) + [UInt8(ascii: "=")] + escape($0.value) }
    return String(decoding: Array(pairs.joined(separator: [UInt8(ascii: "&")])), as: UTF8.self)
}
