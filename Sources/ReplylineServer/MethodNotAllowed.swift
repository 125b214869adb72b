import HTTPTypes
import Hummingbird

/// Answers `405 Method Not Allowed` with an `Allow` header for a path the server knows
/// asked with a method it does not take (`PUT /api/v1/appointments`, `GET
/// /webhooks/twilio/messages`), where Hummingbird answers 404 as if the path did not exist.
///
/// Added to the router after every route: Hummingbird wraps its not-found responder in
/// all of the router's middleware but each route only in the middleware added before it,
/// so this runs for unmatched requests only, and routes cost nothing. The methods come
/// from the router's own route table, so there is no second list to keep in step.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: [(path: [RouterPath.Element], method: HTTPRequest.Method)]

    init(_ routes: [Router<Context>.RouteDescription]) {
        self.routes = routes.map { ($0.path.components, $0.method) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let allowed = methods(for: request.uri.path)
        guard !allowed.isEmpty else { return try await next(request, context) }
        let list = allowed.joined(separator: ", ")
        throw APIError(
            .methodNotAllowed, code: "method_not_allowed",
            message: "\(request.uri.path.prefix(200)) does not take \(request.method.rawValue); it answers \(list).",
            headers: [.allow: list])
    }

    /// The methods of the routes whose path matches `path`, sorted; empty for an unknown path.
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        let matching = routes.filter { route in
            route.path.count == segments.count && zip(route.path, segments).allSatisfy { $0 ~= $1 }
        }
        return Set(matching.map(\.method.rawValue)).sorted()
    }
}
