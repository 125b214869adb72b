import Crypto
import Foundation
import Testing

@testable import ReplylineProviders

@Suite("Twilio signatures")
struct SignatureTests {
    static let vectorParams: [(name: String, value: String)] = [
        ("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675310"), ("Digits", "1234"), ("From", "+14158675310"), ("To", "+18005551212"),
    ]
    static let vectorURL = "https://mycompany.com/myapp.php?foo=1&bar=2"

    @Test("The public test vector")
    func publicVector() throws {
        #expect(
            TwilioSignature.compute(url: Self.vectorURL, parameters: Self.vectorParams, secret: "12345") == "GvWf1cFY/Q7PnoempGyD5oXAezc=")
        let verifier = TwilioSignatureVerifier(authToken: "12345", sharedKey: nil)
        try verifier.verify(
            url: Self.vectorURL, parameters: Self.vectorParams, signature: "GvWf1cFY/Q7PnoempGyD5oXAezc=", signatureSettings: nil)
    }

    @Test("The URL is accepted with and without its default port")
    func ports() throws {
        let verifier = TwilioSignatureVerifier(authToken: "12345", sharedKey: nil)
        let withPort = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
        let signedWithPort = TwilioSignature.compute(url: withPort, parameters: Self.vectorParams, secret: "12345")
        try verifier.verify(url: Self.vectorURL, parameters: Self.vectorParams, signature: signedWithPort, signatureSettings: nil)
        try verifier.verify(url: withPort, parameters: Self.vectorParams, signature: "GvWf1cFY/Q7PnoempGyD5oXAezc=", signatureSettings: nil)
        #expect(TwilioSignature.urlVariants("http://h:8080/p") == ["http://h/p", "http://h:8080/p"])
        #expect(TwilioSignature.urlVariants("https://user:pw@h/p?q") == ["https://user:pw@h/p?q", "https://user:pw@h:443/p?q"])
    }

    @Test("A fragment is not part of what is signed")
    func fragment() throws {
        let verifier = TwilioSignatureVerifier(authToken: "12345", sharedKey: nil)
        try verifier.verify(
            url: Self.vectorURL + "#rc=5&ct=1000", parameters: Self.vectorParams, signature: "GvWf1cFY/Q7PnoempGyD5oXAezc=",
            signatureSettings: nil)
    }

    @Test("Wrong token, altered parameter, missing or garbled signature are refused")
    func refusals() {
        let verifier = TwilioSignatureVerifier(authToken: "12345", sharedKey: nil)
        var altered = Self.vectorParams
        altered[2].value = "1235"
        #expect(throws: WebhookError.badSignature) {
            try verifier.verify(url: Self.vectorURL, parameters: altered, signature: "GvWf1cFY/Q7PnoempGyD5oXAezc=", signatureSettings: nil)
        }
        #expect(throws: WebhookError.badSignature) {
            try TwilioSignatureVerifier(authToken: "54321", sharedKey: nil)
                .verify(
                    url: Self.vectorURL, parameters: Self.vectorParams, signature: "GvWf1cFY/Q7PnoempGyD5oXAezc=", signatureSettings: nil)
        }
        #expect(throws: WebhookError.missingSignature) {
            try verifier.verify(url: Self.vectorURL, parameters: Self.vectorParams, signature: nil, signatureSettings: nil)
        }
        #expect(throws: WebhookError.badSignature) {
            try verifier.verify(url: Self.vectorURL, parameters: Self.vectorParams, signature: "not base64!", signatureSettings: nil)
        }
    }

    @Test("Without a token, unsigned requests pass (local development)")
    func unsigned() throws {
        try TwilioSignatureVerifier(authToken: nil, sharedKey: nil).verify(
            url: "http://x/", parameters: [], signature: nil, signatureSettings: nil)
    }

    @Test("HMAC-SHA256 with the shared key when the settings header asks for it")
    func sharedKey() throws {
        let verifier = TwilioSignatureVerifier(authToken: "12345", sharedKey: "shh")
        let signature = TwilioSignature.compute(url: Self.vectorURL, parameters: Self.vectorParams, secret: "shh", algorithm: .hmacSHA256)
        let settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
        try verifier.verify(url: Self.vectorURL, parameters: Self.vectorParams, signature: signature, signatureSettings: settings)
        #expect(throws: WebhookError.badSignature) {
            try verifier.verify(
                url: Self.vectorURL, parameters: Self.vectorParams, signature: "GvWf1cFY/Q7PnoempGyD5oXAezc=", signatureSettings: settings)
        }
        #expect(throws: WebhookError.badSignature) {
            try verifier.verify(
                url: Self.vectorURL, parameters: Self.vectorParams, signature: signature, signatureSettings: "algorithm=HMAC_MD5")
        }
        #expect(throws: WebhookError.signatureKeyNotConfigured) {
            try TwilioSignatureVerifier(authToken: "12345", sharedKey: nil)
                .verify(url: Self.vectorURL, parameters: Self.vectorParams, signature: signature, signatureSettings: settings)
        }
    }

    @Test("JSON bodies sign the URL alone and bind the body through bodySHA256")
    func jsonBody() throws {
        let body = Array(#"{"MessageSid":"SM1"}"#.utf8)
        let hash = TwilioSignatureVerifier.hex(SHA256Digest(body))
        let url = "https://h.example.com/hook?bodySHA256=\(hash)"
        let signature = TwilioSignature.compute(url: url, parameters: [], secret: "12345")
        let verifier = TwilioSignatureVerifier(authToken: "12345", sharedKey: nil)
        try verifier.verify(url: url, parameters: [("ignored", "x")], rawBody: body, signature: signature, signatureSettings: nil)
        #expect(throws: WebhookError.badSignature) {
            try verifier.verify(url: url, parameters: [], rawBody: body + [0x20], signature: signature, signatureSettings: nil)
        }
    }

    struct Vector: Decodable {
        var url: String
        var params: [[String]]
        var secret: String
        var algorithm: String
        var signature: String
        var valid_urls: [String]
    }

    @Test("Signatures match the official twilio helper's, vector by vector")
    func oracle() throws {
        let vectors = try JSONDecoder().decode([Vector].self, from: Repository.fixture("twilio/_signatures.json"))
        #expect(vectors.count >= 20)
        for vector in vectors {
            let params = vector.params.map { (name: $0[0], value: $0[1]) }
            let algorithm = TwilioSignature.Algorithm(rawValue: vector.algorithm)!
            #expect(
                TwilioSignature.compute(url: vector.url, parameters: params, secret: vector.secret, algorithm: algorithm)
                    == vector.signature, "\(vector.url)")
            let verifier = TwilioSignatureVerifier(
                authToken: algorithm == .hmacSHA1 ? vector.secret : "other", sharedKey: algorithm == .hmacSHA256 ? vector.secret : nil)
            let settings = algorithm == .hmacSHA256 ? "key=k,algorithm=HMAC_SHA256" : nil
            for url in vector.valid_urls {
                #expect(throws: Never.self, "\(url)") {
                    try verifier.verify(url: url, parameters: params, signature: vector.signature, signatureSettings: settings)
                }
            }
        }
    }
}

/// SHA-256 of bytes, through the same library the verifier uses.
func SHA256Digest(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

@Suite("Signature payload")
struct SignaturePayloadTests {
    @Test("Canonically equivalent spellings stay distinct, as in the reference helper (code points, not Unicode equivalence)")
    func byteExact() {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        let payload = TwilioSignature.payload(url: "u", parameters: [("B", composed), ("B", decomposed), ("A", "x"), ("B", composed)])
        // Sorted by code point: "cafe\u{301}" < "caf\u{E9}"; the repeated composed value counts once.
        #expect(String(decoding: payload, as: UTF8.self) == "uAxB" + decomposed + "B" + composed)
    }
}
