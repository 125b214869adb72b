import Foundation
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

    @Test("A rules folder is one business per file; a missing path says what to pass")
    func rulesFolder() throws {
        let one = try Deployment.businesses(rulesPath: Repository.rules.appendingPathComponent("default.yml").path, defaultAPIKey: "k")
        #expect(one.map(\.id) == ["default"])
        #expect(one.first?.apiKey == "k")
        do {
            _ = try Deployment.businesses(rulesPath: "/nonexistent/rules", defaultAPIKey: nil)
            Issue.record("a missing rules path was accepted")
        } catch {
            #expect("\(error)".contains("--rules"))
        }
    }
}
