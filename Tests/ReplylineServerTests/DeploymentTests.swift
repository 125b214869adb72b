import Foundation
import NIOCore
import NIOPosix
import ReplylineServer
import Testing

@Suite("Deployment configuration")
struct DeploymentTests {
    @Test("A config file names several businesses with their rules, numbers and API key variables")
    func configFile() throws {
        let folder = try TemporaryDirectory()
        let rules = Repository.rules.appendingPathComponent("default.yml").path
        let config = folder.url.appendingPathComponent("replyline.yml")
        try """
        businesses:
          - id: north
            rules: \(rules)
            numbers: ["(415) 555-0001"]
            api_key_env: NORTH_KEY
          - id: south
            rules: \(rules)
            numbers: ["+14155550002"]
        """.write(to: config, atomically: true, encoding: .utf8)
        let businesses = try Deployment.businesses(configPath: config.path, environment: ["NORTH_KEY": "k-north"])
        #expect(businesses.map(\.id) == ["north", "south"])
        #expect(businesses.map(\.numbers) == [["+14155550001"], ["+14155550002"]])
        #expect(businesses.map(\.apiKey) == ["k-north", nil])
        #expect(throws: ConfigurationError.self) { try Deployment.businesses(configPath: config.path, environment: [:]) }
    }

    @Test("A rules file is the business `default`, keyed by REPLYLINE_API_KEY; a missing path says what to pass")
    func rulesFile() throws {
        let one = try Deployment.businesses(
            rulesPath: Repository.rules.appendingPathComponent("default.yml").path, environment: ["REPLYLINE_API_KEY": "k"])
        #expect(one.map(\.id) == ["default"])
        #expect(one.first?.apiKey == "k")
        #expect(one.first?.plan == nil)
        do {
            _ = try Deployment.businesses(rulesPath: "/nonexistent/rules", environment: [:])
            Issue.record("a missing rules path was accepted")
        } catch {
            #expect("\(error)".contains("pass a rules file"))
        }
    }

    @Test("The shipped Rules folder serves both businesses: the salon on its number, the clinic on every other, each with its key")
    func shippedRulesFolder() async throws {
        let businesses = try Deployment.businesses(
            rulesPath: Repository.rules.path, environment: ["REPLYLINE_API_KEY": "k-clinic", "REPLYLINE_API_KEY_SALON": "k-salon"])
        #expect(businesses.map(\.id) == ["default", "salon"])
        #expect(businesses.map(\.apiKey) == ["k-clinic", "k-salon"])
        let directory = BusinessDirectory(businesses)
        #expect(directory.business(receivingOn: "+13125550190")?.id == "salon")
        #expect(directory.business(receivingOn: "+15017122661")?.id == "default")
        #expect(directory.business(apiKey: "k-salon")?.id == "salon")
        // A business whose variable is unset has no key yet: `serve` makes one and prints it.
        let unkeyed = try Deployment.businesses(rulesPath: Repository.rules.path, environment: [:])
        #expect(unkeyed.map(\.apiKey) == [nil, nil])
        #expect(Deployment.apiKeyVariable(forBusiness: "maple-salon") == "REPLYLINE_API_KEY_MAPLE_SALON")
    }

    @Test("Two businesses receiving on any number, or one number listed twice, are refused at start with the fix")
    func ambiguousRouting() throws {
        let folder = try TemporaryDirectory()
        let clinic = try String(contentsOf: Repository.rules.appendingPathComponent("default.yml"), encoding: .utf8)
        try clinic.write(to: folder.url.appendingPathComponent("north.yml"), atomically: true, encoding: .utf8)
        try clinic.write(to: folder.url.appendingPathComponent("south.yml"), atomically: true, encoding: .utf8)
        do {
            _ = try Deployment.businesses(rulesPath: folder.url.path, environment: [:])
            Issue.record("two catch-all businesses were accepted")
        } catch {
            #expect("\(error)".contains("businesses north and south all receive texts on any number"), "\(error)")
            #expect("\(error)".contains("fix: list each business's provider numbers"), "\(error)")
        }
        let numbered = clinic.replacingOccurrences(of: "numbers: []", with: #"numbers: ["+15550001111"]"#)
        try numbered.write(to: folder.url.appendingPathComponent("north.yml"), atomically: true, encoding: .utf8)
        try numbered.write(to: folder.url.appendingPathComponent("south.yml"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try Deployment.businesses(rulesPath: folder.url.path, environment: [:]) }
        try clinic.write(to: folder.url.appendingPathComponent("south.yml"), atomically: true, encoding: .utf8)
        #expect(try Deployment.businesses(rulesPath: folder.url.path, environment: [:]).count == 2)
        #expect(throws: ConfigurationError.self) {
            try Deployment.businesses(
                rulesPath: folder.url.path, environment: ["REPLYLINE_API_KEY_NORTH": "same", "REPLYLINE_API_KEY_SOUTH": "same"])
        }
    }

    @Test("No plan unless one is configured; an unknown plan is refused with the names to use")
    func plans() throws {
        let file = Repository.rules.appendingPathComponent("default.yml").path
        #expect(try Deployment.businesses(rulesPath: file, environment: [:]).first?.plan == nil)
        #expect(try Deployment.businesses(rulesPath: file, environment: [:], plan: "professional").first?.plan == .professional)
        #expect(Plan.enterprise.hardLimit == nil)
        #expect(Plan.starter.hardLimit == 2_500)
        #expect(Plan.summary(.enterprise) == "plan enterprise, no limit")
        #expect(Plan.summary(nil) == "no plan limit")
        do {
            _ = try Deployment.businesses(rulesPath: file, environment: [:], plan: "gold")
            Issue.record("an unknown plan was accepted")
        } catch {
            #expect(
                "\(error)"
                    == "--plan: unknown plan `gold`; use one of starter, professional, business, enterprise, or leave it out for no limit")
        }
    }

    @Test(
        "--public-url needs a scheme and a host, and only the base",
        arguments: [
            ("https://sms.example.com/", "https://sms.example.com"), ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("https://example.com/replyline", "https://example.com/replyline"),
        ])
    func publicURL(text: String, expected: String) throws {
        #expect(try Deployment.publicURL(text) == expected)
    }

    @Test(
        "A public URL without a scheme, or with a query, is refused showing the expected form",
        arguments: ["sms.example.com", "ftp://sms.example.com", "https://", "https://sms.example.com?x=1"])
    func badPublicURL(text: String) {
        do {
            _ = try Deployment.publicURL(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect("\(error)".contains("https://sms.example.com"), "\(error)")
        }
    }

    @Test("A port already in use is one clear line naming the option")
    func portInUse() async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        do {
            try await Deployment.checkAvailable(host: "127.0.0.1", port: port, option: "--port")
            Issue.record("a port in use was reported free")
        } catch {
            #expect("\(error)" == "port \(port) is in use; choose another with --port")
        }
        try await listener.close()
        try await Deployment.checkAvailable(host: "127.0.0.1", port: port, option: "--port")
    }
}
