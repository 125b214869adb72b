import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineServer
import Testing

/// Checks real API responses against the OpenAPI document the server serves.
///
/// The validator covers the JSON Schema keywords the document uses (type, required,
/// properties, additionalProperties, items, enum, format date-time, lengths, bounds, $ref);
/// written here because no package on offer validates instances against a schema.
/// Read-only after init, so sharing it across tasks is safe.
struct SchemaValidator: @unchecked Sendable {
    let document: [String: Any]

    var schemas: [String: Any] { ((document["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? [:] }

    func resolve(_ schema: [String: Any]) -> [String: Any] {
        guard let ref = schema["$ref"] as? String, ref.hasPrefix("#/components/schemas/") else { return schema }
        return resolve(schemas[String(ref.dropFirst("#/components/schemas/".count))] as? [String: Any] ?? [:])
    }

    static func isBool(_ value: Any) -> Bool { type(of: value) == Bool.self || String(describing: type(of: value)).contains("Bool") }

    func problems(_ value: Any, _ raw: [String: Any], at path: String = "$") -> [String] {
        let schema = resolve(raw)
        var found: [String] = []
        if let allowed = schema["enum"] as? [String], !allowed.contains(value as? String ?? "\u{0}") {
            found.append("\(path): \(value) not in \(allowed)")
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): expected an object, got \(value)"] }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                found.append("\(path).\(name): required but missing")
            }
            for (name, item) in object {
                if let property = properties[name] as? [String: Any] {
                    found += problems(item, property, at: "\(path).\(name)")
                } else if schema["additionalProperties"] as? Bool == false {
                    found.append("\(path).\(name): not in the schema")
                }
            }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): expected an array"] }
            if let max = schema["maxItems"] as? Int, array.count > max { found.append("\(path): more than \(max) items") }
            if let items = schema["items"] as? [String: Any] {
                for (index, item) in array.enumerated() { found += problems(item, items, at: "\(path)[\(index)]") }
            }
        case "string":
            guard let string = value as? String else { return ["\(path): expected a string, got \(value)"] }
            if schema["format"] as? String == "date-time", (try? Date(string, strategy: .iso8601)) == nil {
                found.append("\(path): not RFC 3339")
            }
            if let min = schema["minLength"] as? Int, string.count < min { found.append("\(path): shorter than \(min)") }
            if let max = schema["maxLength"] as? Int, string.count > max { found.append("\(path): longer than \(max)") }
        case "integer":
            guard !Self.isBool(value), let number = value as? NSNumber, number.doubleValue.rounded() == number.doubleValue else {
                return ["\(path): expected an integer, got \(value)"]
            }
        case "number":
            guard !Self.isBool(value), value is NSNumber || value is Double || value is Int else {
                return ["\(path): expected a number, got \(value)"]
            }
        case "boolean":
            guard Self.isBool(value) else { return ["\(path): expected a boolean, got \(value)"] }
        default:
            break
        }
        return found
    }

    /// The documented schema of the response to `method path` with `status`, and the
    /// operation's template, or a reason it is not documented.
    func responseSchema(method: String, path: String, status: Int) -> Result<(String, [String: Any]), DocumentError> {
        let bare = path.split(separator: "?").first.map(String.init) ?? path
        let relative = bare.hasPrefix("/api/v1") ? String(bare.dropFirst("/api/v1".count)) : bare
        let paths = document["paths"] as? [String: Any] ?? [:]
        for (template, item) in paths {
            let pattern = template.split(separator: "/", omittingEmptySubsequences: false)
            let actual = relative.split(separator: "/", omittingEmptySubsequences: false)
            guard pattern.count == actual.count, zip(pattern, actual).allSatisfy({ $0.hasPrefix("{") || $0 == $1 }) else { continue }
            guard let operation = (item as? [String: Any])?[method.lowercased()] as? [String: Any] else {
                return .failure(DocumentError("\(method) \(template) is not documented"))
            }
            guard let response = (operation["responses"] as? [String: Any])?[String(status)] as? [String: Any] else {
                return .failure(DocumentError("\(method) \(template) does not document status \(status)"))
            }
            let resolved =
                (response["$ref"] as? String).flatMap { ref -> [String: Any]? in
                    let name = ref.split(separator: "/").last.map(String.init) ?? ""
                    return ((document["components"] as? [String: Any])?["responses"] as? [String: Any])?[name] as? [String: Any]
                } ?? response
            let schema =
                ((resolved["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any] ?? [:]
            return .success(("\(method.uppercased()) \(template)", schema))
        }
        return .failure(DocumentError("no documented path matches \(relative)"))
    }

    struct DocumentError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

@Suite("OpenAPI document")
struct OpenAPITests {
    static let repositoryDocument = Repository.root.appendingPathComponent("Sources/ReplylineServer/Resources/openapi.json")

    /// The URI of a documented path template, its parameters filled in.
    static func uri(_ template: String) -> String {
        "/api/v1"
            + template.replacingOccurrences(of: "{phone}", with: "+14155550100").replacingOccurrences(of: "{id}", with: "apt_1")
            .replacingOccurrences(of: "{call_id}", with: "call_1")
    }

    @Test("The document served at /api/v1/openapi.json is the one kept in the repository")
    func served() async throws {
        let server = try await TestServer()
        let kept = try Data(contentsOf: Self.repositoryDocument)
        try await server.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(Data(buffer: response.body) == kept)
            }
        }
    }

    @Test("Every documented operation answers as documented, for real requests")
    func responsesMatch() async throws {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.repositoryDocument)) as! [String: Any]
        let validator = SchemaValidator(document: document)
        let server = try await TestServer.twoBusinesses()
        let exercised = try await server.app.test(.router) { client in
            var exercised: Set<String> = []
            try await client.text("Hi, can I bring my son?", sid: "SM1")
            try await client.text("STOP", sid: "SM2", from: "+14155550199")
            let calls: [(HTTPRequest.Method, String, String?, String)] = [
                (
                    .post, "/api/v1/appointments",
                    #"{"phone": "+14155550100", "customer_name": "Ana", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00", "amount": 95.5}"#,
                    "key-clinic"
                ),
                (
                    .post, "/api/v1/appointments", #"{"phone": "nope", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#,
                    "key-clinic"
                ),
                (.post, "/api/v1/appointments", "{not json", "key-clinic"),
                (.get, "/api/v1/appointments/apt_missing", nil, "key-clinic"),
                (.get, "/api/v1/appointments", nil, "key-clinic"),
                (.get, "/api/v1/appointments?state=awaiting_reply,confirmed&from=2026-11-01T00:00:00Z&limit=1", nil, "key-clinic"),
                (.get, "/api/v1/appointments?state=bogus", nil, "key-clinic"),
                (.get, "/api/v1/appointments", nil, "wrong-key"),
                (.get, "/api/v1/conversations", nil, "key-clinic"),
                (.get, "/api/v1/conversations?limit=1", nil, "key-clinic"),
                (.get, "/api/v1/conversations?limit=0", nil, "key-clinic"),
                (.get, "/api/v1/conversations", nil, "wrong-key"),
                (.get, "/api/v1/conversations/+14155550100", nil, "key-clinic"),
                (.get, "/api/v1/conversations/+14155550100", nil, "key-salon"),
                (.get, "/api/v1/conversations/+14155550100/messages", nil, "key-clinic"),
                (.get, "/api/v1/conversations/+14155550100/messages?limit=1", nil, "key-clinic"),
                (
                    .post, "/api/v1/conversations/+14155550100/messages",
                    #"{"body": "Of course!", "media": ["https://example.com/a.png"]}"#, "key-clinic"
                ),
                (.post, "/api/v1/conversations/+14155550100/messages", #"{"body": ""}"#, "key-clinic"),
                (.post, "/api/v1/conversations/+14155550199/messages", #"{"body": "Hello?"}"#, "key-clinic"),
                (.post, "/api/v1/conversations/+14155550100/read", nil, "key-clinic"),
                (.post, "/api/v1/conversations/garbage/read", nil, "key-clinic"),
                (.get, "/api/v1/contacts/+14155550199/consent", nil, "key-clinic"),
                (.get, "/api/v1/reports/usage", nil, "key-clinic"),
                (.get, "/api/v1/reports/usage?month=2026-11", nil, "key-salon"),
                (.get, "/api/v1/reports/usage?month=November", nil, "key-clinic"),
                (.get, "/api/v1/reports/deliverability?month=2026-11", nil, "key-clinic"),
                (
                    .post, "/api/v1/events/call-completed", #"{"phone": "+14155550100", "summary": "You are booked for Friday at 3."}"#,
                    "key-clinic"
                ),
                (.post, "/api/v1/events/call-completed", #"{"phone": "+14155550199", "summary": "Thanks."}"#, "key-clinic"),
                (.post, "/api/v1/events/call-completed", #"{"phone": "+14155550100"}"#, "key-clinic"),
            ]
            var appointmentID = ""
            for (method, uri, body, key) in calls {
                let (status, json) = try await check(client, validator, method, uri, body, key: key, &exercised)
                if uri == "/api/v1/appointments", status == .created { appointmentID = json["id"] as? String ?? "" }
            }
            for (method, body) in [
                (HTTPRequest.Method.get, nil), (.patch, #"{"starts_at": "2026-12-02T09:00:00-05:00"}"#), (.patch, #"{"state": "bogus"}"#),
                (.delete, nil), (.patch, #"{"state": "completed"}"#),
            ] as [(HTTPRequest.Method, String?)] {
                try await check(client, validator, method, "/api/v1/appointments/\(appointmentID)", body, &exercised)
            }
            try await checkCalls(client, validator, server, &exercised)
            return exercised
        }
        let documented = Set(
            (document["paths"] as? [String: Any] ?? [:]).flatMap { path, item in
                ((item as? [String: Any]) ?? [:]).keys.filter { ["get", "post", "patch", "delete", "put"].contains($0) }.map {
                    "\($0.uppercased()) \(path)"
                }
            })
        #expect(documented.subtracting(exercised).isEmpty, "documented but never exercised: \(documented.subtracting(exercised).sorted())")
    }

    @Test("Call logs of a send the provider refused and of an SMS held until opening answer as documented")
    func callLogStates() async throws {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.repositoryDocument)) as! [String: Any]
        let validator = SchemaValidator(document: document)
        try await OutboundTests.withFakeTwilio(
            .error(400, code: 21211, message: "The 'To' number +14155550100 is not a valid phone number.")
        ) { _, server, client in
            var exercised: Set<String> = []
            try await check(client, validator, .post, "/api/v1/calls", CallsTests.postCall("call_fail", server: server), &exercised)
            try await server.replyline.outbox.runOnce()
            let (_, failed) = try await check(client, validator, .get, "/api/v1/calls/call_fail", nil, &exercised)
            #expect((try CallsTests.sms(failed)["error"] as? [String: Any])?["advice"] != nil)

            server.clock.advance(hours: 12)  // 22:00 in New York: closed until 09:00
            let late = CallsTests.postCall("call_late", server: server, phone: "+14155550111", endedMinutesAgo: 60)
            let (_, held) = try await check(client, validator, .post, "/api/v1/calls", late, &exercised)
            #expect((try CallsTests.sms(held)["waiting"] as? [String: Any])?["reason"] as? String == "outside_hours")
            let (_, page) = try await check(client, validator, .get, "/api/v1/calls?since=2000-01-01T00:00:00Z", nil, &exercised)
            #expect((page["calls"] as? [Any])?.count == 2)
        }
    }

    @Test("Each documented path answers another method with 405 and an Allow listing exactly its documented methods")
    func allowMatchesDocument() async throws {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.repositoryDocument)) as! [String: Any]
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = paths.map { template, item in
            (template, item.keys.filter { ["get", "post", "patch", "delete", "put"].contains($0) }.map { $0.uppercased() }.sorted())
        }
        let server = try await TestServer()
        try await server.app.test(.router) { client in
            for (template, documented) in documented {
                let uri = Self.uri(template)
                try await client.execute(uri: uri, method: .put, headers: [.authorization: "Bearer key-clinic"]) { response in
                    #expect(response.status == .methodNotAllowed, "PUT \(template)")
                    #expect(response.headers[.allow] == documented.joined(separator: ", "), "\(template)")
                }
            }
        }
    }

    @Test("Every documented operation declares the 429 the rate limiter answers it with, and its Retry-After")
    func rateLimitDocumented() async throws {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.repositoryDocument)) as! [String: Any]
        let validator = SchemaValidator(document: document)
        let tooMany = (document["components"] as? [String: Any]).flatMap { $0["responses"] as? [String: Any] }?["TooManyRequests"]
        #expect(((tooMany as? [String: Any])?["headers"] as? [String: Any])?["Retry-After"] != nil)
        let operations = (document["paths"] as? [String: [String: Any]] ?? [:]).flatMap { template, item in
            item.keys.filter { ["get", "post", "patch", "delete"].contains($0) }.map {
                (HTTPRequest.Method(rawValue: $0.uppercased())!, template)
            }
        }
        let server = try await TestServer()
        var configuration = server.replyline.configuration
        // One request, then none for 10,000 s: no token may come back however slowly the
        // test runs (under TSan on a loaded machine, 100 s was not enough).
        configuration.apiRateLimit = RateLimit(perSecond: 0.0001, burst: 1)
        let limited = try AppServices(configuration, store: server.database, logger: TestServer.quietLogger)
        try await buildApplication(limited).test(.router) { client in
            _ = try await client.json(.get, "/api/v1/conversations")
            for (method, template) in operations {
                let uri = Self.uri(template)
                let (status, retryAfter, body) = try await client.execute(
                    uri: uri, method: method, headers: [.authorization: "Bearer key-clinic", .contentType: "application/json"],
                    body: ByteBuffer(string: "{}")
                ) { ($0.status, $0.headers[.retryAfter], try? JSONSerialization.jsonObject(with: Data(buffer: $0.body))) }
                #expect(status == .tooManyRequests, "\(method) \(template)")
                #expect(retryAfter.flatMap(Int.init).map { $0 >= 1 } == true, "\(method) \(template)")
                switch validator.responseSchema(method: method.rawValue, path: uri, status: 429) {
                case .failure(let error): Issue.record("\(error)")
                case .success(let (_, schema)): #expect(validator.problems(body ?? [:], schema).isEmpty, "\(method) \(template)")
                }
            }
        }
    }

    @Test("Every operation that writes declares the 503 a full or failing disk answers it with, and its Retry-After")
    func storageUnavailableDocumented() throws {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.repositoryDocument)) as! [String: Any]
        let components = try #require(document["components"] as? [String: Any])
        let unavailable = try #require((components["responses"] as? [String: Any])?["StorageUnavailable"] as? [String: Any])
        #expect((unavailable["headers"] as? [String: Any])?["Retry-After"] != nil)
        #expect((unavailable["description"] as? String)?.contains("storage_unavailable") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var writes = 0
        for (template, item) in paths {
            for method in ["post", "patch", "delete", "put"] {
                guard let responses = (item[method] as? [String: Any])?["responses"] as? [String: Any] else { continue }
                writes += 1
                #expect(
                    (responses["503"] as? [String: Any])?["$ref"] as? String == "#/components/responses/StorageUnavailable",
                    "\(method.uppercased()) \(template)")
            }
        }
        #expect(writes == 8)
    }

    /// Sends the request, checks its answer against the document and notes the operation
    /// as exercised; returns the answer.
    @discardableResult
    func check(
        _ client: some TestClientProtocol, _ validator: SchemaValidator, _ method: HTTPRequest.Method, _ uri: String, _ body: String?,
        key: String = "key-clinic", _ exercised: inout Set<String>
    ) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
        let (status, json) = try await client.json(method, uri, key: key, body: body)
        switch validator.responseSchema(method: method.rawValue, path: uri, status: Int(status.code)) {
        case .failure(let error):
            Issue.record("\(method) \(uri) → \(status.code): \(error)")
        case .success(let (operation, schema)):
            exercised.insert(operation)
            let problems = validator.problems(json, schema)
            #expect(problems.isEmpty, "\(method) \(uri) → \(status.code): \(problems)")
        }
        return (status, json)
    }

    /// The call endpoints, as a voice agent drives them (Rules/default.yml's agent
    /// `front_desk`): new and retried call events, an opted-out caller, a 422 listing every
    /// problem, a 409 conflict, in-call SMS, a sent SMS with a reply, call logs and their pages.
    func checkCalls(
        _ client: some TestClientProtocol, _ validator: SchemaValidator, _ server: TestServer, _ exercised: inout Set<String>
    ) async throws {
        let since = server.clock.now.addingTimeInterval(-60).formatted(.iso8601)
        let event = CallsTests.postCall("call_doc", server: server, phone: "+14155550133")
        #expect(try await check(client, validator, .post, "/api/v1/calls", event, &exercised).status == .created)
        #expect(try await check(client, validator, .post, "/api/v1/calls", event, &exercised).status == .ok)
        let optedOut = CallsTests.postCall("call_doc_stop", server: server, phone: "+14155550199")
        let (_, stopped) = try await check(client, validator, .post, "/api/v1/calls", optedOut, &exercised)
        #expect(try CallsTests.sms(stopped)["not_sent"] != nil)
        let missing = CallsTests.postCall(
            "call_doc_bad", server: server, actions: #"["sms_confirmation", "sms_reminder"]"#, variables: #"{"customer_name": "Ana"}"#)
        let (invalid, problems) = try await check(client, validator, .post, "/api/v1/calls", missing, &exercised)
        #expect(invalid == .unprocessableContent)
        #expect(((problems["error"] as? [String: Any])?["problems"] as? [String])?.count == 3)
        let moved = CallsTests.postCall("call_doc", server: server, phone: "+14155550111")
        #expect(try await check(client, validator, .post, "/api/v1/calls", moved, &exercised).status == .conflict)
        let live = #"{"call_id": "call_live", "agent": "front_desk", "phone": "+14155550144", "variables": {"visits": 3, "new": true}}"#
        let requests: [(HTTPRequest.Method, String, String?, HTTPResponse.Status)] = [
            (.post, "/api/v1/calls", #"{"call_id": "bad id", "agent": "front_desk", "phone": "+14155550100"}"#, .unprocessableContent),
            (.post, "/api/v1/calls", "{not json", .badRequest),
            (.post, "/api/v1/calls", live, .created),
            (.post, "/api/v1/calls/call_live/sms", #"{"action": "sms_directions"}"#, .created),
            (.post, "/api/v1/calls/call_live/sms", #"{"action": "sms_directions"}"#, .ok),
            (
                .post, "/api/v1/calls/call_live/sms", #"{"body": "The intake form: https://example.com/f/1", "idempotency_key": "form"}"#,
                .created
            ),
            (.post, "/api/v1/calls/call_live/sms", #"{"body": "Parking is behind the building."}"#, .created),
            (.post, "/api/v1/calls/call_live/sms", #"{"action": "sms_confirmation"}"#, .unprocessableContent),
            (.post, "/api/v1/calls/call_live/sms", #"{"action": "sms_directions", "body": "hi"}"#, .unprocessableContent),
            (.post, "/api/v1/calls/call_none/sms", #"{"action": "sms_directions"}"#, .notFound),
            (.post, "/api/v1/calls/bad%20id/sms", #"{"action": "sms_directions"}"#, .unprocessableContent),
            (.post, "/api/v1/calls/call_live/sms", "[]", .badRequest),
            (.get, "/api/v1/calls/call_none", nil, .notFound),
            (.get, "/api/v1/calls/bad%20id", nil, .unprocessableContent),
            (.get, "/api/v1/calls?since=yesterday", nil, .badRequest),
            (.get, "/api/v1/calls?limit=0", nil, .badRequest),
            (.get, "/api/v1/calls?cursor=bogus", nil, .badRequest),
        ]
        for (method, uri, body, expected) in requests {
            #expect(try await check(client, validator, method, uri, body, &exercised).status == expected, "\(method) \(uri)")
        }
        #expect(try await check(client, validator, .get, "/api/v1/calls/call_doc", nil, key: "key-salon", &exercised).status == .notFound)

        // Sent, with a status history and a provider id; the third automated text to the
        // caller in ten minutes waits for cadence; the caller's answer is listed as a reply.
        try await server.replyline.outbox.runOnce()
        try await client.text("Thanks! Is there parking?", sid: "SMcallreply0000000000000000000001", from: "+14155550133")
        let (_, sent) = try await check(client, validator, .get, "/api/v1/calls/call_doc", nil, &exercised)
        #expect((try CallsTests.sms(sent)["message"] as? [String: Any])?["provider_message_id"] != nil)
        let (_, inCall) = try await check(client, validator, .get, "/api/v1/calls/call_live", nil, &exercised)
        #expect(try CallsTests.sms(inCall, 2)["waiting"] != nil)
        #expect((try CallsTests.sms(sent)["replies"] as? [Any])?.isEmpty == false)

        let (_, first) = try await check(client, validator, .get, "/api/v1/calls?since=\(since)&limit=2", nil, &exercised)
        let cursor = try #require(first["next_cursor"] as? String)
        let (_, second) = try await check(client, validator, .get, "/api/v1/calls?since=\(since)&limit=2&cursor=\(cursor)", nil, &exercised)
        #expect((second["calls"] as? [Any])?.count == 1)
        try await check(client, validator, .get, "/api/v1/calls", nil, &exercised)
    }
}

@Suite("Schema validator")
struct SchemaValidatorTests {
    @Test("It reports missing, extra, mistyped and out-of-enum values")
    func rejects() throws {
        let document: [String: Any] = [
            "components": [
                "schemas": [
                    "Thing": [
                        "type": "object", "required": ["id", "state"], "additionalProperties": false,
                        "properties": [
                            "id": ["type": "integer"], "state": ["type": "string", "enum": ["a", "b"]],
                            "at": ["type": "string", "format": "date-time"], "tags": ["type": "array", "items": ["type": "string"]],
                        ],
                    ]
                ]
            ]
        ]
        let validator = SchemaValidator(document: document)
        let schema: [String: Any] = ["$ref": "#/components/schemas/Thing"]
        #expect(validator.problems(["id": 1, "state": "a", "at": "2026-11-25T15:00:00Z", "tags": ["x"]], schema).isEmpty)
        let json = try JSONSerialization.jsonObject(
            with: Data(#"{"id": true, "state": "c", "at": "yesterday", "tags": [1], "extra": 0}"#.utf8))
        let problems = validator.problems(json, schema)
        #expect(problems.count == 5, "\(problems)")
        #expect(validator.problems(["state": "a"], schema) == ["$.id: required but missing"])
    }
}
