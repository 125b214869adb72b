import Hummingbird
import Logging
import NIOCore
import ReplylineCore
import ReplylineStore

/// The request context of every route: Hummingbird's core storage plus the business the
/// request's API key belongs to, once `APIKeyMiddleware` has checked it.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    var business: Business?
    /// The signed-in staff member of a web page, once `StaffSessionMiddleware` has found the session.
    var staff: StaffSession?
    /// The peer's IP address, for rate limits before a key is known.
    let clientAddress: String

    /// Request bodies are JSON objects of at most 64 KiB.
    public var maxUploadSize: Int { 64 * 1024 }
    /// Decodes bodies into `APIRequestBody` types, with errors that name the field at fault.
    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    func requireBusiness() throws -> Business {
        guard let business else { throw APIError(.unauthorized, code: "unauthorized", message: "Missing API key.") }
        return business
    }

    /// The `{phone}` path parameter in E.164, read with the business's default country.
    func phone(_ business: Business) throws -> String {
        let raw = parameters.get("phone").map { $0.removingPercentEncoding ?? $0 } ?? ""
        guard let phone = PhoneNumber(raw, defaultCountry: business.rules.business.country) else {
            throw APIError(
                .badRequest, code: "invalid_phone",
                message:
                    "`\(raw.prefix(40))` is not a phone number. Use E.164 (+15551234567) or a \(business.rules.business.country) number.",
                field: "phone")
        }
        return phone.e164
    }
}

/// `Authorization: Bearer <key>` on every `/api/v1` route; the key picks the business.
/// Every request also takes a token from its client's rate limit first: the business once
/// its key checks out, else the peer's address, so guessing keys is limited too. Over the
/// limit is 429 with `Retry-After`. Keys are compared in constant time and never logged.
struct APIKeyMiddleware: RouterMiddleware {
    let directory: BusinessDirectory
    let limiter: RateLimiter

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        let business = request.headers[.authorization].flatMap { header -> Business? in
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return directory.business(apiKey: String(parts[1]))
        }
        if let wait = limiter.take(business.map { "business:" + $0.id } ?? "address:" + context.clientAddress) {
            let seconds = max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
            throw APIError(
                .tooManyRequests, code: "rate_limited",
                message:
                    "Too many requests: at most \(Int(limiter.limit.burst)) at once and \(Int(limiter.limit.perSecond)) a second per client. Retry after \(seconds) s.",
                headers: [.retryAfter: String(seconds)])
        }
        guard let business else {
            throw APIError(
                .unauthorized, code: "unauthorized",
                message: request.headers[.authorization] == nil
                    ? "Send the business's API key as `Authorization: Bearer <key>`."
                    : "The API key is not valid. Check REPLYLINE_API_KEY or the business's key in the config.")
        }
        var context = context
        context.business = business
        do {
            return try await next(request, context)
        } catch let error as StoreUnavailable {
            throw APIError(
                .serviceUnavailable, code: "storage_unavailable", message: "\(error) Nothing was changed; try again later.",
                headers: [.retryAfter: String(StoreUnavailable.retryAfterSeconds)])
        }
    }
}
