import Hummingbird
import Logging
import NIOCore
import ReplylineCore

/// The request context of every route: Hummingbird's core storage plus the business the
/// request's API key belongs to, once `APIKeyMiddleware` has checked it.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    var business: Business?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
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
struct APIKeyMiddleware: RouterMiddleware {
    let directory: BusinessDirectory

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, code: "unauthorized", message: "Send the business's API key as `Authorization: Bearer <key>`.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let business = directory.business(apiKey: String(parts[1])) else {
            throw APIError(
                .unauthorized, code: "unauthorized",
                message: "The API key is not valid. Check REPLYLINE_API_KEY or the business's key in the config.")
        }
        var context = context
        context.business = business
        return try await next(request, context)
    }
}
