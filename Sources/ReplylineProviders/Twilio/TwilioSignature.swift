import Crypto
import Foundation

/// Twilio's webhook signature: base64(HMAC(key, URL + each parameter name and value)),
/// with parameters sorted by name, a repeated name contributing each of its values sorted
/// and de-duplicated, exactly as the official helpers compute it.
public enum TwilioSignature {
    public enum Algorithm: String, Sendable {
        case hmacSHA1 = "HMAC_SHA1"
        case hmacSHA256 = "HMAC_SHA256"
    }

    /// The string Twilio signs for `url` and form `parameters`.
    public static func payload(url: String, parameters: [(name: String, value: String)]) -> [UInt8] {
        Array(url.utf8) + signedParameters(parameters)
    }

    /// The part of the payload after the URL: each name and value, sorted by (name, value)
    /// in UTF-8 byte order (Python's code-point order, as the reference helper sorts) with
    /// repeated pairs skipped, which is the helper's "names sorted, each name's values
    /// sorted and de-duplicated" without a dictionary. Bytes, not String comparison: Swift's
    /// == treats canonically equivalent spellings (é and e + ◌́) as equal, Python does not.
    public static func signedParameters(_ parameters: [(name: String, value: String)]) -> [UInt8] {
        // Indices sorted with memcmp: the generic String.UTF8View comparisons were a third
        // of the signature check's time.
        let order = parameters.indices.sorted { lhs, rhs in
            let byName = compareBytes(parameters[lhs].name, parameters[rhs].name)
            return byName != 0 ? byName < 0 : compareBytes(parameters[lhs].value, parameters[rhs].value) < 0
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parameters.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count })
        var previous: Int?
        for index in order {
            let pair = parameters[index]
            if let previous, compareBytes(parameters[previous].name, pair.name) == 0,
                compareBytes(parameters[previous].value, pair.value) == 0
            {
                continue
            }
            bytes.append(contentsOf: pair.name.utf8)
            bytes.append(contentsOf: pair.value.utf8)
            previous = index
        }
        return bytes
    }

    /// Three-way comparison of two strings' UTF-8 bytes.
    static func compareBytes(_ a: String, _ b: String) -> Int {
        let fast = a.utf8.withContiguousStorageIfAvailable { a in
            b.utf8.withContiguousStorageIfAvailable { b -> Int in
                let common = min(a.count, b.count)
                let order = common == 0 ? 0 : Int(memcmp(a.baseAddress!, b.baseAddress!, common))
                return order != 0 ? order : a.count - b.count
            }
        }
        if let order = fast ?? nil { return order }
        if a.utf8.elementsEqual(b.utf8) { return 0 }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
    }

    static func mac(_ payload: [UInt8], key: SymmetricKey, algorithm: Algorithm) -> [UInt8] {
        switch algorithm {
        case .hmacSHA1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: payload, using: key))
        case .hmacSHA256: Array(HMAC<SHA256>.authenticationCode(for: payload, using: key))
        }
    }

    /// The signature for `url` and `parameters`, as Twilio sends it in `X-Twilio-Signature`.
    public static func compute(
        url: String, parameters: [(name: String, value: String)], secret: String, algorithm: Algorithm = .hmacSHA1
    ) -> String {
        Data(mac(payload(url: url, parameters: parameters), key: SymmetricKey(data: Array(secret.utf8)), algorithm: algorithm))
            .base64EncodedString()
    }

    /// The URL as signed with and without its port: Twilio has signed both forms over the
    /// years, and the official helpers accept either (`https://h/p` and `https://h:443/p`).
    public static func urlVariants(_ url: String) -> [String] {
        guard let schemeEnd = url.range(of: "://") else { return [url] }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        let rest = afterScheme[authorityEnd...]
        let hostStart = authority.lastIndex(of: "@").map(authority.index(after:)) ?? authority.startIndex
        let hostPort = authority[hostStart...]
        let userInfo = authority[..<hostStart]
        var host = hostPort
        var port: Substring?
        if let colon = hostPort.lastIndex(of: ":"), !hostPort[colon...].contains("]") {
            host = hostPort[..<colon]
            port = hostPort[hostPort.index(after: colon)...]
        }
        let prefix = url[..<schemeEnd.upperBound] + userInfo + host
        let withoutPort = String(prefix + rest)
        let defaultPort = scheme == "https" ? "443" : scheme == "http" ? "80" : nil
        guard let explicit = port.map(String.init) ?? defaultPort else { return [withoutPort] }
        let withPort = String(prefix + ":" + explicit + rest)
        return withPort == withoutPort ? [withoutPort] : [withoutPort, withPort]
    }
}

/// Checks webhook signatures against the configured secrets. Pure: no I/O, no clock.
public struct TwilioSignatureVerifier: Sendable {
    let authToken: SymmetricKey?
    let sharedKey: SymmetricKey?
    /// HMAC-SHA1 keyed with the auth token once: keying it per request was a tenth of a check.
    let authTokenMAC: HMAC<Insecure.SHA1>?

    /// `authToken` nil means unsigned requests are accepted (local development only).
    public init(authToken: String?, sharedKey: String?) {
        self.authToken = authToken.map { SymmetricKey(data: Array($0.utf8)) }
        self.sharedKey = sharedKey.map { SymmetricKey(data: Array($0.utf8)) }
        self.authTokenMAC = self.authToken.map { HMAC(key: $0) }
    }

    public var requiresSignatures: Bool { authToken != nil || sharedKey != nil }

    /// Verifies a request signed for `url` (public base URL + path + query, no fragment).
    ///
    /// - Parameters:
    ///   - parameters: the decoded form pairs; ignored for JSON bodies, which are signed
    ///     through `bodySHA256` in the query instead.
    ///   - rawBody: the body bytes, hashed when the URL carries `bodySHA256`.
    ///   - signatureSettings: the `X-Twilio-Webhooks-Signature-Settings` header, if any.
    public func verify(
        url: String, parameters: [(name: String, value: String)], rawBody: [UInt8]? = nil,
        signature: String?, signatureSettings: String?
    ) throws(WebhookError) {
        guard requiresSignatures else { return }
        var key = authToken
        var algorithm = TwilioSignature.Algorithm.hmacSHA1
        if let settings = signatureSettings {
            guard let shared = sharedKey else { throw .signatureKeyNotConfigured }
            key = shared
            guard let named = Self.algorithm(fromSettings: settings) else { throw .badSignature }
            algorithm = named
        }
        guard let key else { throw .badSignature }
        guard let signature, !signature.isEmpty else { throw .missingSignature }
        guard let expected = Data(base64Encoded: signature) else { throw .badSignature }

        let url = url.firstIndex(of: "#").map { String(url[..<$0]) } ?? url
        var signed = parameters
        if let hash = Self.queryValue("bodySHA256", in: url) {
            // JSON bodies: the URL alone is signed; the body is bound through its hash.
            guard let rawBody, Self.constantTimeEqual(Array(Self.hex(SHA256.hash(data: rawBody)).utf8), Array(hash.lowercased().utf8))
            else { throw .badSignature }
            signed = []
        }
        // The parameters are sorted once; only the URL differs between its spellings. The URL
        // as given is tried first, as Twilio signs what the console holds; the spellings are
        // public, so stopping at the first that verifies leaks nothing, and each comparison
        // is constant-time.
        let parameterBytes = TwilioSignature.signedParameters(signed)
        func verifies(_ url: String) -> Bool {
            switch algorithm {
            case .hmacSHA1:
                Self.verifies(
                    signatureSettings == nil ? authTokenMAC ?? HMAC(key: key) : HMAC(key: key), expected, url: url,
                    parameters: parameterBytes)
            case .hmacSHA256: Self.verifies(HMAC<SHA256>(key: key), expected, url: url, parameters: parameterBytes)
            }
        }
        if verifies(url) { return }
        for variant in TwilioSignature.urlVariants(url) where variant != url {
            if verifies(variant) { return }
        }
        throw .badSignature
    }

    /// `key=...,algorithm=HMAC_SHA256` → `.hmacSHA256`; nil for an algorithm we do not know.
    static func algorithm(fromSettings header: String) -> TwilioSignature.Algorithm? {
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "algorithm" {
                return TwilioSignature.Algorithm(rawValue: pair[1].uppercased())
            }
        }
        return .hmacSHA1
    }

    static func verifies<H>(_ keyed: HMAC<H>, _ expected: Data, url: String, parameters: [UInt8]) -> Bool {
        var mac = keyed
        mac.update(data: Array(url.utf8))
        mac.update(data: parameters)
        // swift-crypto's == against bytes is its constant-time comparison.
        return mac.finalize() == expected
    }

    static func queryValue(_ name: String, in url: String) -> String? {
        guard let mark = url.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        let query = url[url.utf8.index(after: mark)...]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first == Substring(name) { return parts.count > 1 ? String(parts[1]).removingPercentEncoding : "" }
        }
        return nil
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
