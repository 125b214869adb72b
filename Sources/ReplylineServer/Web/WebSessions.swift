import Crypto
import Foundation
import Hummingbird
import ReplylineStore

/// Sign-in state of the web pages. The cookie carries a random token; the store keeps only
/// its SHA-256, with the account and the session's CSRF token, so every instance on a
/// shared database knows the session and a copy of the table signs no one in.
///
/// Written here rather than with hummingbird-auth's `SessionMiddleware`: its storage keys
/// sessions by the cookie's own value, and sessions here must end with their account
/// (`staff remove`, `reset-password`) and be listed by it.
struct WebSessions: Sendable {
    static let cookieName = "replyline_session"
    /// The sign-in form's CSRF token lives in a cookie of its own until there is a session.
    static let signInCookieName = "replyline_sign_in"

    let store: any ConversationStore
    let lifetime: SessionLifetime
    /// Cookies say `Secure` when the public URL is https.
    let secure: Bool
    let now: @Sendable () -> Date

    /// A new random token: 32 bytes from the system's generator, base64url.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The live session the request's cookie names, if any.
    func session(for request: Request) async throws -> StaffSession? {
        guard let token = request.cookies[Self.cookieName]?.value, !token.isEmpty, token.count <= 100 else { return nil }
        return try await store.session(tokenHash: Self.hash(token), lifetime: lifetime, now: now())
    }

    /// Starts a session for `account`: a new token every time, so a token planted before
    /// sign-in is worth nothing after it.
    func start(_ account: StaffAccount) async throws -> Cookie {
        let token = Self.newToken()
        try await store.createSession(
            tokenHash: Self.hash(token), staffID: account.id, csrfToken: Self.newToken(), lifetime: lifetime, now: now())
        return cookie(Self.cookieName, token, maxAge: Int(lifetime.absolute))
    }

    func end(_ request: Request) async throws -> Cookie {
        if let token = request.cookies[Self.cookieName]?.value { try await store.endSession(tokenHash: Self.hash(token)) }
        return cookie(Self.cookieName, "", maxAge: 0)
    }

    func cookie(_ name: String, _ value: String, maxAge: Int?) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }
}

/// Whether a form's `csrf_token` (or the `X-CSRF-Token` header) is `expected`, in constant time.
func csrfMatches(_ presented: String?, expected: String) -> Bool {
    guard let presented, !presented.isEmpty else { return false }
    return secretsMatch(Array(expected.utf8), Array(presented.utf8))
}

/// The headers every page and asset carries: a Content-Security-Policy with no inline
/// script or style, no framing, no MIME sniffing, and no referrer to other sites.
struct WebSecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = APIContext

    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' https: data:; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// Pages for signed-in staff: loads the session (a signed-out GET goes to the sign-in page,
/// anything else gets 403), and refuses a state-changing request without the session's
/// CSRF token before it reaches its route.
struct StaffSessionMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let sessions: WebSessions
    let pages: WebPages

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        // An unreachable store is WebErrorMiddleware's to answer: 503 with Retry-After.
        guard let session = try await sessions.session(for: request) else {
            guard request.method == .get || request.method == .head else {
                return pages.error(.forbidden, "You are signed out. Sign in again, then repeat what you were doing.")
            }
            let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return Response(
                status: .seeOther,
                headers: [.location: "/login?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/")])
        }
        if request.method != .get && request.method != .head {
            var presented = request.headers[.init("X-CSRF-Token")!]
            if presented == nil, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                var request = request
                presented = try await decodeWebForm(CSRFField.self, &request, context)?.csrf_token
                var context = context
                context.staff = session
                guard csrfMatches(presented, expected: session.csrfToken) else { return Self.refused(pages) }
                return try await next(request, context)
            }
            guard csrfMatches(presented, expected: session.csrfToken) else { return Self.refused(pages) }
        }
        var context = context
        context.staff = session
        return try await next(request, context)
    }

    struct CSRFField: Decodable {
        var csrf_token: String?
    }

    static func refused(_ pages: WebPages) -> Response {
        pages.error(.forbidden, "This form has expired or did not come from Replyline. Reload the page and try again; nothing was changed.")
    }
}
