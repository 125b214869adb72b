import Foundation

/// The OpenAPI 3.1 description of `/api/v1`, kept in `Resources/openapi.json` and served as is.
enum OpenAPIDocument {
    static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            return Array(#"{"error": "the OpenAPI document is missing from this build"}"#.utf8)
        }
        return Array(data)
    }()
}
