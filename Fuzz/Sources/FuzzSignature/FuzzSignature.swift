import Crypto
import Foundation
import FuzzSupport
import ReplylineProviders

/// The program's entry point: SwiftPM links `main` to `FuzzSignature_main` (see LibFuzzerDriver.h).
@_cdecl("FuzzSignature_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv)
}

/// The secrets of the recorded fixtures (Fixtures/twilio/*.json `config`), so that the seed
/// corpus holds requests that really verify.
let authToken = "d3c5f0a4b7e94c1f8a2b6e0d9c4f7a13"
let sharedKey = "whsk_5b1e7c9d2f4a6e8b0c3d5f7a9e1b3c5d"
let verifier = TwilioSignatureVerifier(authToken: authToken, sharedKey: sharedKey)

/// The Twilio signature check on a request read from the input as four parts split at line
/// feeds: URL, `X-Twilio-Signature`, `X-Twilio-Webhooks-Signature-Settings` (an empty line
/// for none) and the raw body (the rest, any bytes).
///
/// - `verify` refuses anything only with a signature error, and accepts a form request only
///   with the MAC of one of the URL's spellings;
/// - `urlVariants` keeps the URL itself among its spellings, and the signature does not
///   depend on the order of the pairs;
/// - the signature `compute` gives for the body's pairs verifies (auth token with SHA-1, or
///   shared key with SHA-1 or SHA-256, as the last byte picks), and with one bit flipped is
///   refused; so is a JSON-style request bound by `bodySHA256`, and refused with another body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let parts = split(UnsafeBufferPointer(start: data, count: size), separator: UInt8(ascii: "\n"), maxParts: 4)
    let url = String(decoding: parts[0], as: UTF8.self)
    let signature = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : nil
    let settings = parts.count > 2 && !parts[2].isEmpty ? String(decoding: parts[2], as: UTF8.self) : nil
    let body = parts.count > 3 ? Array(parts[3]) : []
    let parameters = (try? FormBody.decode(body))?.pairs ?? []
    let signedURL = url.firstIndex(of: "#").map { String(url[..<$0]) } ?? url
    // A `bodySHA256` query parameter makes the request a JSON one, signed without its pairs.
    let bodyBound = signedURL.contains("bodySHA256")

    // Whatever arrives: a signature error or acceptance, and acceptance only of a real MAC.
    do {
        try verifier.verify(url: url, parameters: parameters, rawBody: body, signature: signature, signatureSettings: settings)
        if settings == nil, !bodyBound {
            let given = signature.flatMap { Data(base64Encoded: $0) }
            let genuine = TwilioSignature.urlVariants(signedURL).contains { variant in
                Data(base64Encoded: TwilioSignature.compute(url: variant, parameters: parameters, secret: authToken)) == given
            }
            require(
                genuine,
                "verify accepted signature \(String(reflecting: signature)) for \(String(reflecting: url)), not the MAC of any spelling")
        }
    } catch {
        switch error {
        case .badSignature, .missingSignature, .signatureKeyNotConfigured: break
        default: fatalError("invariant failed: verify threw `\(error)`, not a signature error")
        }
    }

    guard !bodyBound else { return 0 }
    require(
        TwilioSignature.urlVariants(signedURL).contains { sameBytes($0, signedURL) },
        "urlVariants(\(String(reflecting: signedURL))) = \(TwilioSignature.urlVariants(signedURL)) leaves out the URL itself")
    require(
        TwilioSignature.compute(url: signedURL, parameters: parameters.reversed(), secret: authToken)
            == TwilioSignature.compute(url: signedURL, parameters: parameters, secret: authToken),
        "the signature depends on the order of the parameters")

    // The verifier accepts what it signs, and nothing one bit away from it. The input's last
    // byte picks the key (one a run keeps the target fast) and the bit to flip.
    let choice = size > 0 ? Int(data[size - 1]) : 0
    let keys: [(TwilioSignature.Algorithm, String, String?)] = [
        (.hmacSHA1, authToken, nil),
        (.hmacSHA1, sharedKey, "key=fuzz"),
        (.hmacSHA256, sharedKey, "key=fuzz,algorithm=HMAC_SHA256"),
    ]
    let (algorithm, secret, signatureSettings) = keys[choice % keys.count]
    let signed = TwilioSignature.compute(url: signedURL, parameters: parameters, secret: secret, algorithm: algorithm)
    let context = "\(algorithm) signature \(signed) for \(String(reflecting: url)) and \(parameters.count) pairs"
    do {
        try verifier.verify(url: url, parameters: parameters, rawBody: body, signature: signed, signatureSettings: signatureSettings)
    } catch {
        fatalError("invariant failed: verify refused the \(context): \(error)")
    }
    var flipped = Data(base64Encoded: signed)!
    let bit = choice / keys.count
    flipped[bit % flipped.count] ^= 1 << (bit % 8)
    do {
        try verifier.verify(
            url: url, parameters: parameters, rawBody: body, signature: flipped.base64EncodedString(), signatureSettings: signatureSettings)
        fatalError("invariant failed: verify accepted the \(context) with a bit flipped")
    } catch {
        require(error == .badSignature, "verify refused the flipped \(context) with \(error), not badSignature")
    }

    // A JSON request: the URL alone is signed, the body bound through its SHA-256 in the query.
    if !signedURL.isEmpty, !signedURL.contains("?") {
        let hash = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        let jsonURL = signedURL + "?bodySHA256=" + hash
        let signed = TwilioSignature.compute(url: jsonURL, parameters: [], secret: authToken)
        do {
            try verifier.verify(url: jsonURL, parameters: parameters, rawBody: body, signature: signed, signatureSettings: nil)
        } catch {
            fatalError(
                "invariant failed: verify refused the signature \(signed) of \(String(reflecting: jsonURL)) bound to its body: \(error)")
        }
        do {
            try verifier.verify(url: jsonURL, parameters: parameters, rawBody: body + [0], signature: signed, signatureSettings: nil)
            fatalError("invariant failed: verify accepted \(String(reflecting: jsonURL)) with a body that does not match its bodySHA256")
        } catch {
            require(error == .badSignature, "a body that does not match its bodySHA256 was refused with \(error), not badSignature")
        }
    }
    return 0
}
