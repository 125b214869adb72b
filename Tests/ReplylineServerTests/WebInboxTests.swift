import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineServer

/// A browser's view of the web inbox through the router: its cookies, and the CSRF token of
/// the page it last read.
struct WebBrowser {
    var cookies: [String: String] = [:]

    var cookieHeader: String { cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }

    mutating func keep(_ response: TestResponse) {
        for field in response.headers where field.name == .setCookie {
            let pair = field.value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            if field.value.contains("Max-Age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
        }
    }

    /// GETs `uri` and returns the response (status, headers, body as text).
    mutating func get(_ client: some TestClientProtocol, _ uri: String, headers: HTTPFields = [:]) async throws -> (
        status: HTTPResponse.Status, headers: HTTPFields, html: String
    ) {
        var headers = headers
        if !cookies.isEmpty { headers[.cookie] = cookieHeader }
        let response = try await client.execute(uri: uri, method: .get, headers: headers, body: nil) { $0 }
        keep(response)
        return (response.status, response.headers, String(buffer: response.body))
    }

    /// POSTs a form to `uri`.
    mutating func post(_ client: some TestClientProtocol, _ uri: String, _ fields: [(String, String)]) async throws -> (
        status: HTTPResponse.Status, headers: HTTPFields, html: String
    ) {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if !cookies.isEmpty { headers[.cookie] = cookieHeader }
        let body = fields.map { "\(TestServer.formEscape($0.0))=\(TestServer.formEscape($0.1))" }.joined(separator: "&")
        let response = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) { $0 }
        keep(response)
        return (response.status, response.headers, String(buffer: response.body))
    }

    /// The hidden `csrf_token` of a page.
    static func token(_ html: String) -> String? {
        guard let range = html.range(of: #"name="csrf_token" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Signs in through the form; returns the answer to the form's POST.
    mutating func signIn(_ client: some TestClientProtocol, email: String, password: String) async throws -> (
        status: HTTPResponse.Status, headers: HTTPFields, html: String
    ) {
        let page = try await get(client, "/login")
        return try await post(
            client, "/login", [("email", email), ("password", password), ("csrf_token", Self.token(page.html) ?? ""), ("next", "/")])
    }
}

@Suite("Web inbox")
struct WebInboxTests {
    static let password = "correct horse battery"

    /// The clinic and the salon, each with one staff account (bcrypt at its cheapest cost, for speed).
    static func server() async throws -> TestServer {
        let server = try await TestServer.twoBusinesses()
        try await addStaff(server, [("clinic", "desk@clinic.example"), ("salon", "front@salon.example")])
        return server
    }

    static func addStaff(_ server: TestServer, _ accounts: [(business: String, email: String)] = [("clinic", "desk@clinic.example")])
        async throws
    {
        for (business, email) in accounts {
            try await server.database.addStaff(
                StaffAccount(
                    id: UUID().uuidString, businessID: business, email: email,
                    passwordHash: try await StaffPasswords.hash(password, cost: 4), createdAt: server.clock.now))
        }
    }

    @Test("A signed-out visit goes to the sign-in page; a signed-out POST is refused")
    func signedOut() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            var browser = WebBrowser()
            let home = try await browser.get(client, "/conversations/%2B14155550100?x=1")
            #expect(home.status == .seeOther)
            #expect(home.headers[.location] == "/login?next=%2Fconversations%2F%252B14155550100%3Fx%3D1")
            let post = try await browser.post(client, "/conversations/%2B14155550100/messages", [("body", "hi")])
            #expect(post.status == .forbidden)
            #expect(try await server.database.tableCounts()["messages"] == 0)
        }
    }

    @Test("Sign-in: one message for a wrong password or an unknown email; a right one starts a new session")
    func signIn() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            var browser = WebBrowser()
            let wrong = try await browser.signIn(client, email: "desk@clinic.example", password: "not the password")
            let unknown = try await browser.signIn(client, email: "nobody@clinic.example", password: Self.password)
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            #expect(wrong.html.contains(SignInController.failed) && unknown.html.contains(SignInController.failed))
            #expect(browser.cookies[WebSessions.cookieName] == nil)

            let right = try await browser.signIn(client, email: " Desk@Clinic.example ", password: Self.password)
            #expect(right.status == .seeOther && right.headers[.location] == "/")
            let cookie = try #require(right.headers[values: .setCookie].first { $0.hasPrefix(WebSessions.cookieName + "=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"))
            let first = browser.cookies[WebSessions.cookieName]
            let home = try await browser.get(client, "/")
            #expect(home.status == .ok && home.html.contains("desk@clinic.example"))

            // Another sign-in gets a session of its own; signing out ends this one for good.
            var other = WebBrowser()
            _ = try await other.signIn(client, email: "desk@clinic.example", password: Self.password)
            #expect(other.cookies[WebSessions.cookieName] != nil && other.cookies[WebSessions.cookieName] != first)
            let old = browser.cookies
            let page = try await browser.get(client, "/")
            let out = try await browser.post(client, "/logout", [("csrf_token", WebBrowser.token(page.html) ?? "")])
            #expect(out.status == .seeOther && out.headers[.location] == "/login")
            browser.cookies = old
            #expect(try await browser.get(client, "/").status == .seeOther)
        }
    }

    @Test("Past five failures a minute for an account, sign-in answers 429 with the wait, even with the right password")
    func signInLimit() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            var browser = WebBrowser()
            for _ in 0..<5 {
                #expect(try await browser.signIn(client, email: "desk@clinic.example", password: "wrong password!").status == .unauthorized)
            }
            let limited = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter].flatMap(Int.init).map { (1...60).contains($0) } == true)
            #expect(limited.html.contains("Too many failed sign-ins. Wait"))
            #expect(browser.cookies[WebSessions.cookieName] == nil)
            server.clock.advance(hours: 61.0 / 3600)
            #expect(try await browser.signIn(client, email: "desk@clinic.example", password: Self.password).status == .seeOther)
        }
    }

    @Test("A session ends after eight idle hours")
    func idleExpiry() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            server.clock.advance(hours: 7.9)
            #expect(try await browser.get(client, "/").status == .ok)
            server.clock.advance(hours: 7.9)
            #expect(try await browser.get(client, "/").status == .ok)
            server.clock.advance(hours: 8.1)
            #expect(try await browser.get(client, "/").status == .seeOther)
        }
    }

    @Test("Message text is shown as text: markup in a body is escaped in the list and the thread")
    func escaped() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            try await client.text("<img src=x onerror=alert(1)> <script>alert(2)</script>", sid: "SMxss1")
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            let escaped = "&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(2)&lt;/script&gt;"
            for uri in ["/?q=onerror", "/conversations/%2B14155550100"] {
                let page = try await browser.get(client, uri)
                #expect(page.status == .ok)
                #expect(!page.html.contains("<img src=x") && !page.html.contains("<script>alert"))
                #expect(page.html.contains(uri.hasPrefix("/?") ? "data-phone=\"+14155550100\"" : #"<div class="body">\#(escaped)</div>"#))
                #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(page.headers[.xContentTypeOptions] == "nosniff")
            }
        }
    }

    @Test("Each business's staff see only its own: another business's thread or appointment is 404")
    func tenantIsolation() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            try await client.text("Hello clinic", sid: "SMc1", from: "+14155550100")
            try await client.text("Hello salon", sid: "SMs1", from: "+14155550200", to: TestServer.salonNumber)
            let (_, booked) = try await client.json(
                .post, "/api/v1/appointments", key: "key-salon",
                body: #"{"phone": "+14155550200", "service": "Cut", "starts_at": "2026-12-01T10:00:00-06:00"}"#)
            let appointment = try #require(booked["id"] as? String)
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            let home = try await browser.get(client, "/")
            #expect(home.html.contains(#"data-phone="+14155550100""#) && !home.html.contains("4155550200"))
            #expect(try await browser.get(client, "/?q=Hello").html.contains(#"data-phone="+14155550100""#))
            #expect(try await browser.get(client, "/?q=salon").html.contains("No conversations match"))
            let token = try #require(WebBrowser.token(home.html))
            #expect(try await browser.get(client, "/conversations/%2B14155550200").status == .notFound)
            #expect(try await browser.get(client, "/conversations/not-a-phone").status == .notFound)
            let before = try await server.database.tableCounts()
            for (uri, fields) in [
                ("/conversations/%2B14155550200/messages", [("body", "hi")]),
                ("/conversations/%2B14155550200/appointments/\(appointment)", [("action", "cancel")]),
                ("/conversations/%2B14155550100/appointments/\(appointment)", [("action", "cancel")]),
            ] {
                #expect(try await browser.post(client, uri, fields + [("csrf_token", token)]).status == .notFound, "\(uri)")
            }
            #expect(try await server.database.tableCounts() == before)
            #expect(try await server.database.appointment(id: appointment, businessID: "salon")?.0.state == .awaitingReply)
        }
    }

    @Test("A form without the session's CSRF token, or with another, is refused and changes nothing")
    func csrf() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SMc1")
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            let before = try await server.database.tableCounts()
            for fields in [[("body", "hi")], [("body", "hi"), ("csrf_token", "forged")]] {
                let answer = try await browser.post(client, "/conversations/%2B14155550100/messages", fields)
                #expect(answer.status == .forbidden)
                #expect(answer.html.contains("nothing was changed"))
            }
            #expect(try await server.database.tableCounts() == before)
            // A sign-in form without its own token is refused too.
            var other = WebBrowser()
            let answer = try await other.post(
                client, "/login", [("email", "desk@clinic.example"), ("password", Self.password), ("csrf_token", "x")])
            #expect(answer.status == .forbidden && other.cookies[WebSessions.cookieName] == nil)
        }
    }

    @Test("Replying queues a manual message; an opted-out contact's thread has sending off, and the server refuses anyway")
    func sendAndOptOut() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            try await client.text("When do you open?", sid: "SMq1")
            try await client.text("STOP", sid: "SMstop", from: "+14155550199")
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            let thread = try await browser.get(client, "/conversations/%2B14155550100")
            #expect(thread.html.contains(#"<output id="segments" for="reply">0/160 · GSM-7 · 0 segments</output>"#))
            #expect(thread.html.contains(#"class="quick-reply""#))
            let token = try #require(WebBrowser.token(thread.html))
            let sent = try await browser.post(
                client, "/conversations/%2B14155550100/messages", [("body", "We open at 9.\r\nSee you!"), ("csrf_token", token)])
            #expect(sent.status == .seeOther)
            let stored = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100")?.messages.last)
            #expect(stored.kind == .manual && stored.body == "We open at 9.\nSee you!")
            #expect(try await browser.get(client, "/conversations/%2B14155550100").html.contains("We open at 9."))

            let optedOut = try await browser.get(client, "/conversations/%2B14155550199")
            #expect(optedOut.html.contains(#"<div class="banner opted-out" role="status">Opted out by texting STOP"#))
            #expect(optedOut.html.contains(#"<button id="send" type="submit" disabled>"#))
            let before = try await server.database.tableCounts()
            let refused = try await browser.post(
                client, "/conversations/%2B14155550199/messages", [("body", "Are you there?"), ("csrf_token", token)])
            #expect(refused.status == .conflict && refused.html.contains("Not sent: this client opted out."))
            #expect(try await server.database.tableCounts() == before)
        }
    }

    @Test("The list: unread and needs-reply counts, the opted-out filter, and search by text, name and phone digits")
    func listFiltersAndSearch() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            try await client.text("Is parking free?", sid: "SMa", from: "+14155550100")
            try await client.text("STOP", sid: "SMb", from: "+14155550199")
            try await client.text("Thanks 100%_sure", sid: "SMc", from: "+12125550123")
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            func phones(_ uri: String) async throws -> [String] {
                let html = try await browser.get(client, uri).html
                return html.components(separatedBy: #"data-phone=""#).dropFirst().map { String($0.prefix { $0 != "\"" }) }
            }
            #expect(try await phones("/").count == 3)
            #expect(try await phones("/?filter=opted-out") == ["+14155550199"])
            #expect(try await phones("/?filter=needs-reply").sorted() == ["+12125550123", "+14155550100"])
            #expect(try await phones("/?q=PARKING") == ["+14155550100"])
            #expect(try await phones("/?q=212+555") == ["+12125550123"])
            #expect(try await phones("/?q=100%25_") == ["+12125550123"])
            // `%` and `_` are found as themselves, not as LIKE's wildcards.
            #expect(try await phones("/?q=a%25e") == [])
            let empty = try await browser.get(client, "/?q=nothing+like+this").html
            #expect(empty.contains("No conversations match"))
            let home = try await browser.get(client, "/").html
            #expect(home.contains("<title>(3) Inbox · Bright Smile Dental · Replyline</title>"))
        }
    }

    @Test("Appointments from the client card: adding one asks for confirmation; the card's buttons change its state")
    func appointments() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            try await client.text("Can I book?", sid: "SMa")
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            let token = try #require(WebBrowser.token(try await browser.get(client, "/conversations/%2B14155550100").html))
            let bad = try await browser.post(
                client, "/conversations/%2B14155550100/appointments",
                [("starts_at", "yesterday"), ("service", "Cleaning"), ("csrf_token", token)])
            #expect(bad.status == .badRequest && bad.html.contains("in the future"))
            let added = try await browser.post(
                client, "/conversations/%2B14155550100/appointments",
                [("starts_at", "2026-12-20T10:30"), ("service", "Cleaning"), ("csrf_token", token)])
            #expect(added.status == .seeOther)
            let booked = try #require(try await server.database.appointments(businessID: "clinic", phone: "+14155550100").first)
            #expect(booked.service == "Cleaning" && booked.state == .awaitingReply)
            // 10:30 in New York is 15:30 UTC in December.
            #expect(booked.startsAt == ISO8601DateFormatter().date(from: "2026-12-20T15:30:00Z"))
            let card = try await browser.get(client, "/conversations/%2B14155550100").html
            #expect(card.contains(#"data-id="\#(booked.id)""#) && card.contains("awaiting reply"))
            let confirmed = try await browser.post(
                client, "/conversations/%2B14155550100/appointments/\(booked.id)", [("action", "confirm"), ("csrf_token", token)])
            #expect(confirmed.status == .seeOther)
            #expect(try await server.database.appointment(id: booked.id, businessID: "clinic")?.0.state == .confirmed)
        }
    }

    @Test("A new message to a number not yet in the inbox starts its thread; a bad number is refused")
    func newMessage() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            let page = try await browser.get(client, "/new")
            let token = try #require(WebBrowser.token(page.html))
            let bad = try await browser.post(client, "/new", [("phone", "12"), ("body", "Hi"), ("csrf_token", token)])
            #expect(bad.status == .badRequest && bad.html.contains("is not a phone number"))
            let sent = try await browser.post(
                client, "/new", [("phone", "(415) 555-0142"), ("body", "Hi from the clinic"), ("csrf_token", token)])
            #expect(sent.status == .seeOther && sent.headers[.location] == "/conversations/%2B14155550142")
            #expect(
                try await server.database.thread(businessID: "clinic", phone: "+14155550142")?.messages.map(\.body) == [
                    "Hi from the clinic"
                ])
        }
    }

    @Test("Assets are served under hashed names for a year; templates parse")
    func assets() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            var browser = WebBrowser()
            let login = try await browser.get(client, "/login")
            let pages = try WebPages()
            #expect(login.html.contains(pages.stylesheet.path) && login.html.contains(pages.script.path))
            for path in [pages.stylesheet.path, pages.script.path] {
                let asset = try await browser.get(client, path)
                #expect(asset.status == .ok && asset.headers[.cacheControl] == "public, max-age=31536000, immutable")
            }
        }
    }

    @Test("Messages lists outbound messages by status, a failure with its reason in plain words; Usage counts them and charts 30 days")
    func messagesAndUsage() async throws {
        try await OutboundTests.withFakeTwilio { fake, server, client in
            try await Self.addStaff(server)
            _ = try await client.json(.post, "/api/v1/appointments", body: OutboundTests.booking)
            try await server.replyline.outbox.runOnce()
            let sid = try #require(try await OutboundTests.confirmation(server).providerMessageId)
            _ = try await OutboundTests.callback(client, sid: sid, status: "undelivered", errorCode: "30006")
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            let failed = try await browser.get(client, "/messages?status=failed").html
            #expect(failed.contains(#"<span class="badge status-undelivered">undelivered</span>"#))
            #expect(failed.contains("The number is a landline and cannot receive texts. Call instead."))
            #expect(!(try await browser.get(client, "/messages?status=delivered").html.contains(#"<tr class="message""#)))
            let usage = try await browser.get(client, "/usage").html
            #expect(usage.components(separatedBy: #"<rect class="bar""#).count == 31)
            #expect(usage.contains("<tr><td>30006</td><td>1</td><td>landline or unreachable carrier</td></tr>"))
            #expect(usage.contains("<dt>Messages sent</dt><dd>1 (no plan limit)</dd>"))
        }
    }

    @Test("A script marks the open thread read with the CSRF token in a header; without it nothing changes")
    func markReadByScript() async throws {
        let server = try await Self.server()
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SMr1")
            var browser = WebBrowser()
            _ = try await browser.signIn(client, email: "desk@clinic.example", password: Self.password)
            let page = try await browser.get(client, "/conversations/%2B14155550100", headers: [.init("X-Live-Refresh")!: "1"])
            let token = try #require(WebBrowser.token(page.html))
            #expect(try await server.database.conversation(businessID: "clinic", phone: "+14155550100")?.unreadCount == 1)
            func read(_ headers: HTTPFields) async throws -> HTTPResponse.Status {
                var headers = headers
                headers[.cookie] = browser.cookieHeader
                return try await client.execute(uri: "/conversations/%2B14155550100/read", method: .post, headers: headers) { $0.status }
            }
            #expect(try await read([:]) == .forbidden)
            #expect(try await read([.init("X-CSRF-Token")!: "forged"]) == .forbidden)
            #expect(try await server.database.conversation(businessID: "clinic", phone: "+14155550100")?.unreadCount == 1)
            #expect(try await read([.init("X-CSRF-Token")!: token]) == .noContent)
            #expect(try await server.database.conversation(businessID: "clinic", phone: "+14155550100")?.unreadCount == 0)
        }
    }

    @Test("Behind a proxy on loopback the sign-in limit counts the address the proxy saw, not the proxy's")
    func signInLimitBehindProxy() async throws {
        let server = try await Self.server()
        try await server.app.test(.live) { client in
            func attempt(from address: String, password: String) async throws -> HTTPResponse.Status {
                let login = try await client.execute(uri: "/login", method: .get) { $0 }
                let html = String(buffer: login.body)
                let cookie = try #require(login.headers[values: .setCookie].first).split(separator: ";")[0]
                let body =
                    "email=desk%40clinic.example&password=\(TestServer.formEscape(password))&csrf_token=\(WebBrowser.token(html) ?? "")"
                return try await client.execute(
                    uri: "/login", method: .post,
                    headers: [
                        .contentType: "application/x-www-form-urlencoded", .cookie: String(cookie),
                        .init("X-Forwarded-For")!: "203.0.113.9, \(address)",
                    ], body: ByteBuffer(string: body)
                ) { $0.status }
            }
            for _ in 0..<5 { #expect(try await attempt(from: "198.51.100.1", password: "wrong password!") == .unauthorized) }
            // The account is limited now; an address is limited with its own failures only.
            #expect(try await attempt(from: "198.51.100.2", password: Self.password) == .tooManyRequests)
            let failures = try await server.database.signInFailures(
                keys: ["address:198.51.100.1", "address:198.51.100.2", "address:127.0.0.1"], since: .distantPast)
            #expect(failures["address:198.51.100.1"]?.count == 5 && failures["address:198.51.100.2"] == nil)
            #expect(failures["address:127.0.0.1"] == nil)
        }
    }
}
