import Foundation
import Hummingbird
import Logging
import NIOCore
import ReplylineCore
import ReplylineProviders
import ReplylineProvidersHTTP
import ReplylineSQLite
import ReplylineStore
import ServiceLifecycle

/// The running parts of Replyline, built once from a configuration: the database, the
/// businesses, the providers' webhook pipelines and the outbox worker. `buildApplication`
/// puts HTTP in front of them; `replyline replay` drives them without HTTP.
public struct AppServices: Sendable {
    public let configuration: ServerConfiguration
    public let store: any ConversationStore
    public let directory: BusinessDirectory
    public let providers: ProviderRegistry
    /// Each provider's webhooks, by provider name.
    public let webhooks: [String: any WebhookHandling]
    public let outbox: OutboxWorker
    /// Appointments and queued messages, for the API, `replay` and `simulate`.
    public let outbound: OutboundService
    public let logger: Logger
    public let metrics = Metrics()
    /// The web inbox's templates and assets.
    let pages: WebPages

    /// - Parameters:
    ///   - providers: the providers webhooks come from and messages go through; by default
    ///     Twilio (see `ProviderRegistry.standard`).
    ///   - sender: when given, sends every business's messages instead of its provider's
    ///     sender (a test's recorder, `simulate`'s printer).
    public init(
        _ configuration: ServerConfiguration, store: (any ConversationStore)? = nil, providers: ProviderRegistry? = nil,
        sender: (any MessageSender)? = nil, logger: Logger
    ) throws {
        precondition(!configuration.businesses.isEmpty, "a deployment needs at least one business")
        let providers = providers ?? .standard(configuration)
        for business in configuration.businesses where providers[business.provider] == nil {
            throw ConfigurationError(
                "business \(business.id): unknown provider `\(business.provider)`; use one of \(providers.names.joined(separator: ", "))")
        }
        self.configuration = configuration
        self.logger = logger
        self.pages = try WebPages()
        self.providers = providers
        let store = try store ?? AppDatabase(path: configuration.databasePath)
        self.store = store
        self.directory = BusinessDirectory(configuration.businesses)
        let environment = WebhookEnvironment(
            store: store, directory: directory, publicURL: configuration.effectivePublicURL, now: configuration.now,
            logger: logger, metrics: metrics)
        var webhooks: [String: any WebhookHandling] = [:]
        for entry in providers.entries { webhooks[entry.name] = entry.makeWebhooks(environment) }
        self.webhooks = webhooks
        var senders: [String: any MessageSender] = [:]
        for business in directory.businesses { senders[business.id] = sender ?? providers[business.provider]!.sender }
        let doorbell = OutboxDoorbell()
        self.outbound = OutboundService(
            store: store, providerNames: senders.mapValues(\.name), now: configuration.now, doorbell: doorbell)
        self.outbox = OutboxWorker(
            store: store, senders: senders, instance: configuration.effectiveInstanceID, directory: directory,
            now: configuration.now, interval: configuration.outboxInterval, doorbell: doorbell, logger: logger, metrics: metrics)
    }
}

/// Builds the HTTP application from a configuration (the one function tests and `serve` share).
public func buildApplication(_ configuration: ServerConfiguration, logger: Logger) throws -> some ApplicationProtocol {
    try buildApplication(AppServices(configuration, logger: logger))
}

public func buildApplication(_ replyline: AppServices) -> some ApplicationProtocol {
    let router = Router(context: APIContext.self)
    // 503 while the store cannot be reached, so a load balancer sends traffic elsewhere.
    router.get("healthz") { [store = replyline.store] _, _ -> Response in
        do {
            try await store.checkAvailable()
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n")))
        } catch let error as StoreUnavailable {
            return Response(
                status: .serviceUnavailable, headers: [.retryAfter: "5"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "database unavailable: \(error.reason)\n")))
        }
    }
    let configuration = replyline.configuration
    let metrics = MetricsController(metrics: replyline.metrics, token: configuration.metricsToken)
    var services: [any Service] = configuration.runsOutboxWorker ? [replyline.outbox] : []
    if let (host, port) = configuration.metricsAddress {
        let metricsRouter = Router(context: APIContext.self)
        metrics.addRoutes(to: metricsRouter)
        services.append(
            Application(
                router: metricsRouter, configuration: .init(address: .hostname(host, port: port), serverName: "replyline-metrics"),
                logger: replyline.logger))
    } else {
        metrics.addRoutes(to: router)
    }
    router.get("api/v1/openapi.json") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
    }
    WebhooksController(webhooks: replyline.webhooks).addRoutes(to: router)
    let api = router.group("api/v1").add(
        middleware: APIKeyMiddleware(directory: replyline.directory, limiter: RateLimiter(replyline.configuration.apiRateLimit)))
    let store = replyline.store
    let now = configuration.now
    AppointmentsController(store: store, outbound: replyline.outbound, now: now, makeID: configuration.makeID).addRoutes(to: api)
    InboxController(store: store, outbound: replyline.outbound, now: now).addRoutes(to: api)
    ReportsController(store: store, providers: replyline.providers, now: now).addRoutes(to: api)
    EventsController(store: store, outbound: replyline.outbound).addRoutes(to: api)
    CallsController(store: store, outbound: replyline.outbound, providers: replyline.providers, now: now).addRoutes(to: api)
    addWebInbox(replyline, to: router)
    // Last, so it sees every route and wraps none of them (see the middleware).
    router.add(middleware: MethodNotAllowedMiddleware<APIContext>(router.routes))
    let timeout = TimeAmount(configuration.requestTimeout)
    return Application(
        router: router,
        // Requests are small: headers are capped at 8 KiB a field, 16 KiB in all and 100
        // fields (past that: 400 and the connection closed), bodies by each route.
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestDeadlineHandler(timeout: timeout)], idleTimeout: .seconds(60),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 16 * 1024, maxHeaderFieldCount: 100))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "replyline"),
        services: services,
        logger: replyline.logger)
}

/// `GET /metrics`: Prometheus text for the whole deployment (every business together),
/// an operator's endpoint. With a token, only `Authorization: Bearer <token>` gets it.
struct MetricsController {
    let metrics: Metrics
    let token: String?

    func addRoutes(to router: Router<APIContext>) {
        router.get("metrics") { request, _ in
            if let token, !Self.presents(token, request.headers[.authorization]) {
                return Response(
                    status: .unauthorized,
                    headers: [.contentType: "text/plain; charset=utf-8", .wwwAuthenticate: "Bearer"],
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(string: "/metrics needs `Authorization: Bearer <REPLYLINE_METRICS_TOKEN>`.\n")))
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }

    /// Whether `header` is `Bearer <token>`, compared in constant time.
    static func presents(_ token: String, _ header: String?) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        return secretsMatch(Array(token.utf8), Array(header.utf8.dropFirst("Bearer ".utf8.count)))
    }
}

/// The provider webhooks, `/webhooks/{provider}/messages` and `/webhooks/{provider}/status`
/// for each registered provider: HTTP in, `WebhookRequest` to its pipeline, the answer out.
struct WebhooksController {
    let webhooks: [String: any WebhookHandling]

    func addRoutes(to router: Router<APIContext>) {
        for (name, handler) in webhooks.sorted(by: { $0.key < $1.key }) {
            router.post("webhooks/\(name)/messages") { request, _ in
                var request = request
                let webhook = await Self.webhookRequest(&request, limit: handler.maxBodyBytes)
                return Self.response(await handler.inbound(webhook))
            }
            router.post("webhooks/\(name)/status") { request, _ in
                var request = request
                let webhook = await Self.webhookRequest(&request, limit: handler.maxBodyBytes)
                return Self.response(await handler.status(webhook))
            }
        }
    }

    static func webhookRequest(_ request: inout Request, limit: Int) async -> WebhookRequest {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(request.headers.count)
        for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
        var body: [UInt8] = []
        var exceeded = false
        var unreadable = false
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            exceeded = true
        } else {
            do {
                let buffer = try await request.body.collect(upTo: limit)
                body = Array(buffer.readableBytesView)
            } catch is NIOTooManyBytesError {
                exceeded = true
            } catch {
                unreadable = true
            }
        }
        return WebhookRequest(
            target: request.uri.string, headers: headers, body: body, bodyExceededLimit: exceeded, bodyUnreadable: unreadable)
    }

    static func response(_ answer: WebhookResponse) -> Response {
        var headers: HTTPFields = [.contentType: answer.contentType]
        if let seconds = answer.retryAfter { headers[.retryAfter] = String(seconds) }
        return Response(
            status: .init(code: answer.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }
}

/// The staff web inbox: sign-in, then the pages of the signed-in person's business. Every
/// page and asset carries the security headers; errors are HTML pages.
func addWebInbox(_ replyline: AppServices, to router: Router<APIContext>) {
    let configuration = replyline.configuration
    let pages = replyline.pages
    let sessions = WebSessions(
        store: replyline.store, lifetime: configuration.sessionLifetime, secure: configuration.effectivePublicURL.hasPrefix("https:"),
        now: configuration.now)
    let web = router.group().add(middleware: WebSecurityHeadersMiddleware()).add(middleware: WebErrorMiddleware(pages: pages))
    pages.routes(to: web)
    SignInController(store: replyline.store, sessions: sessions, pages: pages, directory: replyline.directory, now: configuration.now)
        .addRoutes(to: web)
    let signedIn = web.group().add(middleware: StaffSessionMiddleware(sessions: sessions, pages: pages))
    InboxPagesController(
        store: replyline.store, outbound: replyline.outbound, directory: replyline.directory, providers: replyline.providers, pages: pages,
        now: configuration.now, makeID: configuration.makeID
    ).addRoutes(to: signedIn)
    ReportsPagesController(
        store: replyline.store, providers: replyline.providers,
        frame: PageFrame(store: replyline.store, directory: replyline.directory, pages: pages), now: configuration.now
    ).addRoutes(to: signedIn)
    // Live updates: the signed-in business's events, as Server-Sent Events.
    let live = LiveEvents(store: replyline.store)
    signedIn.get("events") { _, context in
        guard let session = context.staff else { throw WebPageError(.forbidden, "You are signed out. Sign in again.") }
        return await live.eventStream(businessID: session.staff.businessID)
    }
}
