import Crypto
import Foundation
import Hummingbird
import Mustache
import NIOCore
import ReplylineStore

/// The web inbox's templates and assets, read once from the resource bundle: mustache
/// templates (escaping on by default), and the stylesheet and script under names that
/// carry a hash of their bytes, so browsers may keep them for a year.
struct WebPages: Sendable {
    struct Asset: Sendable {
        let path: String
        let contentType: String
        let bytes: ByteBuffer
    }

    let library: MustacheLibrary
    let stylesheet: Asset
    let script: Asset

    init() throws {
        guard let folder = Bundle.module.resourceURL?.appendingPathComponent("web") else {
            throw WebPagesError("the web pages' resources are missing from this build")
        }
        var library = MustacheLibrary()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        for name in names where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            do {
                try library.register(text, named: String(name.dropLast(".mustache".count)))
            } catch {
                throw WebPagesError("the template \(name) does not parse: \(error)")
            }
        }
        self.library = library
        func asset(_ name: String, _ type: String, _ contentType: String) throws -> Asset {
            let data = try Data(contentsOf: folder.appendingPathComponent("\(name).\(type)"))
            let digest = SHA256.hash(data: data).prefix(6).map { String(format: "%02x", $0) }.joined()
            return Asset(path: "/assets/\(name)-\(digest).\(type)", contentType: contentType, bytes: ByteBuffer(bytes: data))
        }
        stylesheet = try asset("app", "css", "text/css; charset=utf-8")
        script = try asset("app", "js", "text/javascript; charset=utf-8")
    }

    /// `template` rendered with `view` as an HTML response.
    func render(_ template: String, _ view: Any, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = library.render(view, withTemplate: template) else {
            return Response(
                status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "The page template \(template) is missing from this build.\n")))
        }
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// A page that says what went wrong and what to do, with `status`.
    func error(_ status: HTTPResponse.Status, _ message: String, chrome: PageChrome? = nil) -> Response {
        render(
            "error",
            ErrorView(page: chrome ?? PageChrome.signedOut(self, title: "\(status.code) \(status.reasonPhrase)"), message: message),
            status: status)
    }

    func routes(to router: RouterGroup<APIContext>) {
        for asset in [stylesheet, script] {
            router.get(RouterPath(asset.path)) { _, _ in
                Response(
                    status: .ok,
                    headers: [
                        .contentType: asset.contentType, .cacheControl: "public, max-age=31536000, immutable",
                        .xContentTypeOptions: "nosniff",
                    ],
                    body: ResponseBody(byteBuffer: asset.bytes))
            }
        }
    }

    struct ErrorView {
        let page: PageChrome
        let message: String
    }
}

struct WebPagesError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What every page's head and header show: the title, the assets, and for a signed-in
/// person the business, their email, the CSRF token and which section is open.
struct PageChrome {
    var title: String
    var bodyClass: String
    var stylesheet: String
    var script: String
    var signedIn: SignedIn?

    struct SignedIn {
        var businessName: String
        var email: String
        var csrfToken: String
        /// The unread total, nil when there is none.
        var unread: String?
        var inbox: Bool
        var newMessage: Bool
        var messages: Bool
        var usage: Bool
    }

    static func signedOut(_ pages: WebPages, title: String, bodyClass: String = "page-error") -> PageChrome {
        PageChrome(title: title + " · Replyline", bodyClass: bodyClass, stylesheet: pages.stylesheet.path, script: pages.script.path)
    }
}

/// What every signed-in page starts from: the session's business, and the chrome with its
/// unread count for the title and the header.
struct PageFrame {
    let store: any ConversationStore
    let directory: BusinessDirectory
    let pages: WebPages

    enum Section { case inbox, newMessage, messages, usage }

    /// - Parameter counts: the business's counts when the page has read them already.
    func chrome(
        _ session: StaffSession, _ business: Business, title: String, body: String, section: Section, counts: InboxCounts? = nil
    ) async throws -> PageChrome {
        let found = try await counts == nil ? store.inboxCounts(businessID: business.id) : counts
        let unread = found?.unreadMessages ?? 0
        let name = business.rules.business.name
        return PageChrome(
            title: (unread > 0 ? "(\(InboxCounts.text(unread))) " : "") + "\(title) · \(name) · Replyline", bodyClass: body,
            stylesheet: pages.stylesheet.path, script: pages.script.path,
            signedIn: .init(
                businessName: name, email: session.staff.email, csrfToken: session.csrfToken,
                unread: unread > 0 ? InboxCounts.text(unread) : nil, inbox: section == .inbox,
                newMessage: section == .newMessage, messages: section == .messages, usage: section == .usage))
    }

    /// The signed-in person and their business; a business no longer configured is refused.
    func signedIn(_ context: APIContext) throws -> (StaffSession, Business) {
        guard let session = context.staff else { throw WebPageError(.forbidden, "You are signed out. Sign in again.") }
        guard let business = directory.businesses.first(where: { $0.id == session.staff.businessID }) else {
            throw WebPageError(
                .forbidden, "Your business (\(session.staff.businessID)) is not served here any more. Ask whoever runs Replyline.")
        }
        return (session, business)
    }
}
