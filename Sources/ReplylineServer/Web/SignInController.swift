import Foundation
import Hummingbird
import ReplylineStore

/// `/login` and `/logout`. A failed sign-in says one thing whether the email or the password
/// was wrong; past `SignInLimit` failures a minute for the account or the address, sign-in
/// answers 429 with the wait, before any password is checked.
struct SignInController {
    let store: any ConversationStore
    let sessions: WebSessions
    let pages: WebPages
    let directory: BusinessDirectory
    let now: @Sendable () -> Date

    static let failed = "The email or password is not right. Check both and try again."

    func addRoutes(to router: RouterGroup<APIContext>) {
        router.get("login", use: show)
        router.post("login", use: signIn)
        router.post("logout", use: signOut)
    }

    struct SignInView {
        let page: PageChrome
        let csrfToken: String
        let next: String
        let email: String
        let error: String?
    }

    struct SignInForm: Decodable {
        var email: String?
        var password: String?
        var csrf_token: String?
        var next: String?
    }

    @Sendable func show(_ request: Request, context: APIContext) async throws -> Response {
        if (try? await sessions.session(for: request)) != nil {
            return Self.redirect(Self.safeNext(request.uri.queryParameters["next"].map(String.init)))
        }
        return page(next: Self.safeNext(request.uri.queryParameters["next"].map(String.init)), email: "", error: nil, status: .ok)
    }

    @Sendable func signIn(_ request: Request, context: APIContext) async throws -> Response {
        var request = request
        let form = try await decodeWebForm(SignInForm.self, &request, context) ?? SignInForm()
        let next = Self.safeNext(form.next)
        let email = StaffAccount.normalizedEmail(form.email ?? "")
        guard let expected = request.cookies[WebSessions.signInCookieName]?.value, csrfMatches(form.csrf_token, expected: expected) else {
            return page(
                next: next, email: email, error: "This sign-in form has expired. Sign in again on this page.", status: .forbidden)
        }
        guard !email.isEmpty, let password = form.password, !password.isEmpty else {
            return page(next: next, email: email, error: "Enter your email and your password.", status: .badRequest)
        }
        let keys = ["email:" + email, "address:" + Self.clientAddress(request, context)]
        // An unreachable store is WebErrorMiddleware's to answer: 503 with Retry-After.
        let at = now()
        let failures = try await store.signInFailures(keys: keys, since: at.addingTimeInterval(-SignInLimit.window))
        if let wait = SignInLimit.wait(failures, now: at) {
            let seconds = Int(wait.rounded(.up))
            var response = page(
                next: next, email: email,
                error: "Too many failed sign-ins. Wait \(seconds) seconds, then try again.", status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        }
        let account = try await store.staffAccount(email: email)
        guard try await StaffPasswords.verify(password, hash: account?.passwordHash), let account,
            directory.businesses.contains(where: { $0.id == account.businessID })
        else {
            try await store.recordSignInFailure(keys: keys, now: at)
            return page(next: next, email: email, error: Self.failed, status: .unauthorized)
        }
        var response = Self.redirect(next)
        response.setCookie(try await sessions.start(account))
        response.setCookie(sessions.cookie(WebSessions.signInCookieName, "", maxAge: 0))
        return response
    }

    @Sendable func signOut(_ request: Request, context: APIContext) async throws -> Response {
        // Signing out needs the session's CSRF token, so another site cannot sign staff out.
        var request = request
        let token = try await decodeWebForm(StaffSessionMiddleware.CSRFField.self, &request, context)?.csrf_token
        if let session = try await sessions.session(for: request), !csrfMatches(token, expected: session.csrfToken) {
            return StaffSessionMiddleware.refused(pages)
        }
        var response = Self.redirect("/login")
        response.setCookie(try await sessions.end(request))
        return response
    }

    /// The sign-in page with a fresh form token in its own cookie.
    func page(next: String, email: String, error: String?, status: HTTPResponse.Status) -> Response {
        let token = WebSessions.newToken()
        var response = pages.render(
            "login",
            SignInView(
                page: PageChrome.signedOut(pages, title: "Sign in", bodyClass: "page-login"), csrfToken: token, next: next, email: email,
                error: error),
            status: status)
        response.setCookie(sessions.cookie(WebSessions.signInCookieName, token, maxAge: 3600))
        return response
    }

    /// The address a sign-in comes from. Behind a proxy on this machine (deploy/'s nginx and
    /// Caddy) every request comes from loopback: then it is the last `X-Forwarded-For` entry,
    /// the one the proxy added (earlier ones are the client's to write).
    static func clientAddress(_ request: Request, _ context: APIContext) -> String {
        let peer = context.clientAddress
        guard peer.hasPrefix("127.") || peer == "::1", let forwarded = request.headers[.init("X-Forwarded-For")!],
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty, last.count <= 45
        else { return peer }
        return last
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// Where to go after sign-in: a path on this site only (`/x`, never `//host` or a URL).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.hasPrefix("/\\"), next.count < 500,
            !next.contains(where: { $0.isNewline })
        else { return "/" }
        return next
    }
}
