import Foundation
import Hummingbird
import Logging
import NIOCore
import ReplylineCore
import ReplylineProviders
import ReplylineProvidersHTTP
import ReplylineStore
import ServiceLifecycle

/// The running parts of Replyline, built once from a configuration: the database, the
/// businesses, the webhook handler and the outbox worker. `buildApplication` puts HTTP
/// in front of it; `replyline replay` drives it without HTTP.
public struct Replyline: Sendable {
    public let configuration: ServerConfiguration
    public let database: AppDatabase
    public let directory: BusinessDirectory
    public let twilio: TwilioWebhookHandler
    public let outbox: OutboxWorker
    public let logger: Logger
    public let metrics = Metrics()

    /// - Parameter sender: how the outbox sends; by default Twilio's REST API when the
    ///   account SID and auth token are configured, else the console.
    public init(
        _ configuration: ServerConfiguration, database: AppDatabase? = nil, sender: (any MessageSender)? = nil, logger: Logger
    ) throws {
        precondition(!configuration.businesses.isEmpty, "a deployment needs at least one business")
        self.configuration = configuration
        self.logger = logger
        let database = try database ?? AppDatabase(path: configuration.databasePath)
        self.database = database
        self.directory = BusinessDirectory(configuration.businesses)
        self.twilio = TwilioWebhookHandler(
            database: database, directory: directory,
            verifier: TwilioSignatureVerifier(authToken: configuration.twilioAuthToken, sharedKey: configuration.twilioSharedKey),
            publicURL: configuration.effectivePublicURL, deploymentAccountSID: configuration.twilioAccountSID, now: configuration.now,
            logger: logger, metrics: metrics)
        let sender =
            sender
            ?? configuration.twilioAccountSID.flatMap { account in
                configuration.twilioAuthToken.map { token in
                    TwilioSender(
                        client: TwilioRESTClient(baseURL: configuration.twilioAPIBaseURL, accountSID: account, authToken: token),
                        publicURL: configuration.effectivePublicURL)
                }
            } ?? ConsoleSender()
        self.outbox = OutboxWorker(
            database: database, sender: sender, instance: configuration.effectiveInstanceID, directory: directory, now: configuration.now,
            interval: configuration.outboxInterval, logger: logger, metrics: metrics)
    }
}

extension Replyline {
    /// Creates an appointment for `business` and queues its confirmation request.
    public func createAppointment(_ new: NewAppointment, for business: Business) async throws -> CreatedAppointment {
        try await database.createAppointment(
            new, businessID: business.id, provider: outbox.sender.name, fromNumber: business.sendingNumber,
            now: configuration.now(), compose: compose(for: business))
    }
}

extension Replyline {
    /// Changes an appointment of `business`; a new time queues a new confirmation request.
    public func updateAppointment(
        id: String, _ change: AppointmentUpdate, for business: Business
    ) async throws -> (appointment: StoredAppointment, phone: String, confirmationMessageID: Int64?) {
        try await database.updateAppointment(
            id: id, businessID: business.id, update: change, provider: outbox.sender.name, fromNumber: business.sendingNumber,
            now: configuration.now(), compose: compose(for: business))
    }
}

extension Replyline {
    /// The engine's texts for an appointment of `business`: its confirmation request, its
    /// reminder, and when the reminders are due.
    func compose(for business: Business) -> @Sendable (Appointment) -> AppointmentMessages {
        let engine = business.engine
        let now = configuration.now()
        return { appointment in
            AppointmentMessages(
                confirmationRequest: engine.render(
                    engine.rules.replies.confirmationRequest, contact: ContactSnapshot(), appointment: appointment),
                reminder: engine.render(engine.rules.replies.reminder, contact: ContactSnapshot(), appointment: appointment),
                reminderTimes: ReminderSchedule.times(for: appointment.startsAt, now: now, rules: engine.rules))
        }
    }
}

/// Builds the HTTP application from a configuration (the one function tests and `serve` share).
public func buildApplication(_ configuration: ServerConfiguration, logger: Logger) throws -> some ApplicationProtocol {
    try buildApplication(Replyline(configuration, logger: logger))
}

public func buildApplication(_ replyline: Replyline) -> some ApplicationProtocol {
    let router = Router(context: APIContext.self)
    router.get("healthz") { _, _ in "ok\n" }
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
    WebhooksController(twilio: replyline.twilio).addRoutes(to: router)
    let api = router.group("api/v1").add(
        middleware: APIKeyMiddleware(directory: replyline.directory, limiter: RateLimiter(replyline.configuration.apiRateLimit)))
    AppointmentsController(replyline: replyline).addRoutes(to: api)
    InboxController(replyline: replyline).addRoutes(to: api)
    ReportsController(replyline: replyline).addRoutes(to: api)
    EventsController(replyline: replyline).addRoutes(to: api)
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

/// The provider webhooks: HTTP in, `WebhookRequest` to the handler, its answer out.
struct WebhooksController {
    let twilio: TwilioWebhookHandler

    func addRoutes(to router: Router<APIContext>) {
        router.post("webhooks/twilio/messages") { request, _ in
            var request = request
            let webhook = await Self.webhookRequest(&request)
            return Self.response(await twilio.inbound(webhook))
        }
        router.post("webhooks/twilio/status") { request, _ in
            var request = request
            let webhook = await Self.webhookRequest(&request)
            return Self.response(await twilio.status(webhook))
        }
    }

    static func webhookRequest(_ request: inout Request) async -> WebhookRequest {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(request.headers.count)
        for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
        let limit = TwilioWebhookHandler.maxBodyBytes
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
        return Response(status: .init(code: answer.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }
}
