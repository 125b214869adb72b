import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReplylineServer
import Testing

/// Call events as voice-agent platforms post them, recorded in `Fixtures/calls`, through the
/// real app with the shipped `Rules/default.yml`. A step is a request and what it must get
/// (the status and the JSON fields that matter; times and ids are left out), or a pass of
/// the outbox and the texts it hands the provider. `UPDATE_FIXTURES=1 swift test` rewrites
/// the expected values of the fields each step lists (every field but times and ids when it
/// lists none); review the diff.
@Suite("Call fixtures")
struct CallFixtureTests {
    static let directory = Repository.root.appendingPathComponent("Fixtures/calls")
    static let files =
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        .filter { $0.hasSuffix(".json") }.sorted().map { directory.appendingPathComponent($0) }
    static let updating = ProcessInfo.processInfo.environment["UPDATE_FIXTURES"] == "1"

    @Test("There are recorded call events")
    func present() {
        #expect(Self.files.count >= 4)
    }

    /// What one step got: a request's answer (and the tables a refused one changed), or the texts an outbox pass sent.
    enum Outcome: Sendable {
        case answer(status: Int, json: JSONValue?, changedTables: [String])
        case outbox([CallFixture.Text])
    }

    @Test("Each recorded call event gets its recorded answer, and the outbox sends the recorded texts", arguments: files)
    func replay(file: URL) async throws {
        var fixture = try JSONDecoder().decode(CallFixture.self, from: Data(contentsOf: file))
        let steps = fixture.steps
        let sender = RecordingSender()
        let server = try await TestServer(sender: sender)
        let outcomes = try await server.app.test(.router) { client in
            var outcomes: [Outcome] = []
            for step in steps {
                if let request = step.request {
                    let before = try await server.database.tableCounts()
                    let (status, json) = try await Self.send(request, client)
                    let after = (200..<300).contains(status) ? before : try await server.database.tableCounts()
                    let changed = after.keys.filter { after[$0] != before[$0] }.sorted()
                    outcomes.append(.answer(status: status, json: json, changedTables: changed))
                } else {
                    let already = sender.sent.withLock { $0.count }
                    try await server.replyline.outbox.runOnce()
                    let sent = sender.sent.withLock { $0[already...].map { CallFixture.Text(to: $0.toNumber, body: $0.body) } }
                    outcomes.append(.outbox(sent))
                }
            }
            return outcomes
        }
        for (index, outcome) in outcomes.enumerated() {
            let place = "\(file.lastPathComponent) step \(index + 1)"
            switch outcome {
            case .answer(let status, let json, let changedTables):
                #expect(changedTables.isEmpty, "\(place) was refused but changed \(changedTables)")
                if Self.updating {
                    let template = steps[index].response?.json
                    fixture.steps[index].response = CallFixture.Expected(status: status, json: json.map { $0.projected(onto: template) })
                    continue
                }
                let expected = try #require(steps[index].response, "\(place) has no response; run UPDATE_FIXTURES=1 swift test")
                #expect(status == expected.status, "\(place): status")
                for problem in expected.json.map({ JSONValue.mismatches(json ?? .null, $0) }) ?? [] {
                    Issue.record("\(place): \(problem)")
                }
            case .outbox(let sent):
                if Self.updating {
                    fixture.steps[index].outbox = sent
                } else {
                    #expect(sent == steps[index].outbox, "\(place): the texts the outbox sent")
                }
            }
        }
        if Self.updating { try fixture.write(to: file) }
    }

    static func send(_ request: CallFixture.Request, _ client: some TestClientProtocol) async throws -> (status: Int, json: JSONValue?) {
        var headers = HTTPFields()
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            headers.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value))
        }
        let body = try request.body.map { ByteBuffer(data: try JSONEncoder().encode($0)) }
        return try await client.execute(
            uri: request.path, method: try #require(HTTPRequest.Method(request.method)), headers: headers, body: body
        ) { response in
            (Int(response.status.code), try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)))
        }
    }
}

/// One file of `Fixtures/calls`: what the platform sent, in order, and what each got.
struct CallFixture: Codable, Sendable {
    struct Request: Codable, Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: JSONValue?
    }

    struct Expected: Codable, Sendable {
        var status: Int
        var json: JSONValue?
    }

    /// A text as the provider was asked to send it.
    struct Text: Codable, Equatable, Sendable {
        var to: String
        var body: String
    }

    /// A request and its `response`, or (no request) a pass of the outbox and the texts it sent.
    struct Step: Codable, Sendable {
        var note: String?
        var request: Request?
        var response: Expected?
        var outbox: [Text]?
    }

    var description: String
    var steps: [Step]

    func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try (encoder.encode(self) + Data("\n".utf8)).write(to: url)
    }
}

/// Any JSON, compared as a fixture expects: an object matches when it has every field the
/// expected one lists, with matching values; a list matches item by item.
enum JSONValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if value.decodeNil() {
            self = .null
        } else if let bool = try? value.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? value.decode(Double.self) {
            self = .number(number)
        } else if let string = try? value.decode(String.self) {
            self = .string(string)
        } else if let array = try? value.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try value.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .number(let number) where number == number.rounded() && abs(number) < 1e15: try container.encode(Int64(number))
        case .number(let number): try container.encode(number)
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }

    var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }

    /// Where `actual` differs from `expected`, each as the field's path and both values.
    static func mismatches(_ actual: JSONValue, _ expected: JSONValue, at path: String = "") -> [String] {
        switch (actual, expected) {
        case (.object(let actual), .object(let expected)):
            return expected.keys.sorted().flatMap { key in
                let place = path.isEmpty ? key : "\(path).\(key)"
                guard let value = actual[key] else { return ["`\(place)` is missing; expected \(expected[key]!)"] }
                return mismatches(value, expected[key]!, at: place)
            }
        case (.array(let actual), .array(let expected)) where actual.count == expected.count:
            return zip(actual, expected).enumerated().flatMap { mismatches($1.0, $1.1, at: "\(path)[\($0)]") }
        case (.array(let actual), .array(let expected)):
            return ["`\(path)` has \(actual.count) items, expected \(expected.count): \(JSONValue.array(actual))"]
        default:
            return actual == expected ? [] : ["`\(path)` is \(actual), expected \(expected)"]
        }
    }

    /// This value with only the fields `template` lists (all but times and ids without one),
    /// to write back as the expected value.
    func projected(onto template: JSONValue?) -> JSONValue {
        switch (self, template) {
        case (.object(let object), .object(let fields)?):
            return .object(
                object.filter { fields[$0.key] != nil }.reduce(into: [:]) { $0[$1.key] = $1.value.projected(onto: fields[$1.key]) })
        case (.array(let items), .array(let templates)?):
            return .array(items.enumerated().map { $1.projected(onto: $0 < templates.count ? templates[$0] : templates.last) })
        case (.object(let object), _):
            return .object(object.filter { !Self.varies($0.key) }.mapValues { $0.projected(onto: nil) })
        case (.array(let items), _):
            return .array(items.map { $0.projected(onto: nil) })
        default:
            return self
        }
    }

    /// Fields that differ from run to run or store to store: times and ids.
    static func varies(_ field: String) -> Bool {
        field == "id" || field == "at" || field.hasSuffix("_at") || field == "until" || field == "scheduled_for"
            || field == "provider_message_id" || field == "in_reply_to" || field == "next_cursor"
    }
}
