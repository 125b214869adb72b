import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import ReplylineProviders

/// What Twilio said to a send request.
public enum TwilioSendOutcome: Sendable, Equatable {
    /// Accepted: its SID and first status (`queued`, `accepted`, ...).
    case accepted(sid: String, status: String)
    /// Refused for good, with Twilio's error code (21610, 21211, ...) and message.
    case rejected(code: String?, message: String)
    /// Worth retrying (429, 5xx, no connection made); `retryAfter` when Twilio said.
    case retryable(reason: String, retryAfter: TimeInterval?)
    /// The request went out but no answer came back (a reset, a timeout): Twilio may or may
    /// not have the message, so it must not be sent again.
    case indeterminate(reason: String)
}

/// Sends messages through Twilio's REST API: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`
/// with a form body and basic auth, on AsyncHTTPClient (the server ecosystem's HTTP client,
/// built on the same SwiftNIO event loops as the server; FoundationNetworking would add
/// libcurl's threads beside them).
public struct TwilioRESTClient: Sendable {
    public struct Message: Sendable {
        public var to: String
        public var from: String?
        public var messagingServiceSID: String?
        public var body: String
        public var mediaURLs: [String]
        public var statusCallback: String?

        public init(to: String, from: String?, messagingServiceSID: String?, body: String, mediaURLs: [String], statusCallback: String?) {
            self.to = to
            self.from = from
            self.messagingServiceSID = messagingServiceSID
            self.body = body
            self.mediaURLs = mediaURLs
            self.statusCallback = statusCallback
        }
    }

    let http: HTTPClient
    let baseURL: String
    let accountSID: String
    let authToken: String
    let timeout: TimeAmount

    /// The client sends go through: `HTTPClient.shared`'s settings but for up to 32
    /// connections to one host (its default is 8), since the outbox sends a pass's messages
    /// (`OutboxPass.maxClaims`) together. It lives as long as the process, as `.shared` does.
    public static let sendingClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(
        http: HTTPClient = sendingClient, baseURL: String = "https://api.twilio.com", accountSID: String, authToken: String,
        timeout: TimeAmount = .seconds(15)
    ) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.accountSID = accountSID
        self.authToken = authToken
        self.timeout = timeout
    }

    public var messagesURL: String { "\(baseURL)/2010-04-01/Accounts/\(accountSID)/Messages.json" }

    /// The form body Twilio expects; `MessagingServiceSid` wins over `From` when both are known.
    public static func form(_ message: Message) -> String {
        var pairs: [(String, String)] = [("To", message.to)]
        if let service = message.messagingServiceSID {
            pairs.append(("MessagingServiceSid", service))
        } else if let from = message.from {
            pairs.append(("From", from))
        }
        if !message.body.isEmpty { pairs.append(("Body", message.body)) }
        for url in message.mediaURLs { pairs.append(("MediaUrl", url)) }
        if let callback = message.statusCallback { pairs.append(("StatusCallback", callback)) }
        return pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    public func send(_ message: Message) async -> TwilioSendOutcome {
        var request = HTTPClientRequest(url: messagesURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(accountSID):\(authToken)".utf8).base64EncodedString())
        request.headers.add(name: "User-Agent", value: "replyline")
        request.body = .bytes(ByteBuffer(string: Self.form(message)))
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            return Self.outcome(
                status: Int(response.status.code), body: Array(buffer: body), retryAfter: response.headers.first(name: "Retry-After"))
        } catch {
            // Retrying is safe only when Twilio cannot have the message: the connection was
            // never made. After the request went out (a reset, a timeout waiting for the
            // answer) Twilio may have taken it, and a retry could text the customer twice.
            if Self.neverSent(error) { return .retryable(reason: "network: \(error)", retryAfter: nil) }
            return .indeterminate(reason: "network: \(error)")
        }
    }

    /// True when `error` says the request never reached Twilio: no connection was made.
    static func neverSent(_ error: any Error) -> Bool {
        switch error {
        case let error as IOError: [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(error.errnoCode)
        case let error as HTTPClientError: error == .connectTimeout || error == .tlsHandshakeTimeout
        case is NIOConnectionError: true
        default: false
        }
    }

    /// The fields of Twilio's JSON answer that matter here. A field that is missing or of
    /// another type reads as `nil`, as does every field of a body that is not a JSON object
    /// (a proxy's HTML error page).
    struct Answer: Decodable {
        var sid: String?
        var status: String?
        /// Twilio's error code, a number (21610); a string is taken as it is.
        var code: String?
        var message: String?

        enum CodingKeys: String, CodingKey {
            case sid, status, code, message
        }

        init() {}

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            sid = try? container.decodeIfPresent(String.self, forKey: .sid)
            status = try? container.decodeIfPresent(String.self, forKey: .status)
            code =
                (try? container.decodeIfPresent(Int.self, forKey: .code)).map { String($0) }
                ?? (try? container.decodeIfPresent(String.self, forKey: .code))
            message = try? container.decodeIfPresent(String.self, forKey: .message)
        }
    }

    /// Reads Twilio's answer: 2xx JSON with `sid` and `status`; errors as
    /// `{"code": 21610, "message": "...", "status": 400}`.
    public static func outcome(status: Int, body: [UInt8], retryAfter: String?) -> TwilioSendOutcome {
        let answer = (try? JSONDecoder().decode(Answer.self, from: Data(body))) ?? Answer()
        if (200..<300).contains(status), let sid = answer.sid {
            return .accepted(sid: sid, status: answer.status ?? "queued")
        }
        let code = answer.code
        let message = answer.message ?? "HTTP \(status)"
        if status == 429 || status >= 500 {
            return .retryable(
                reason: "HTTP \(status)\(code.map { " (\($0))" } ?? ""): \(message)", retryAfter: retryAfter.flatMap(TimeInterval.init))
        }
        if (200..<300).contains(status) { return .retryable(reason: "Twilio answered \(status) without a message sid", retryAfter: nil) }
        return .rejected(code: code, message: message)
    }
}
