import Foundation
import ReplylineCore
import Yams

/// Reads the businesses of a deployment: from `--config` (several businesses) or from
/// `--rules` (one business per rules file).
public enum Deployment {
    struct ConfigFile: Decodable {
        struct BusinessEntry: Decodable {
            var id: String
            var rules: String
            var numbers: [String]?
            var messaging_service_sids: [String]?
            /// Overrides the rules file's time zone.
            var time_zone: String?
            var plan: String?
            /// The environment variable holding this business's API key.
            var api_key_env: String?
            /// The Twilio account (AC…) its status callbacks must name.
            var account_sid: String?
        }
        var businesses: [BusinessEntry]
    }

    public static func businesses(rulesPath: String, defaultAPIKey: String?) throws -> [BusinessConfiguration] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: rulesPath, isDirectory: &isDirectory) else {
            throw ConfigurationError("rules not found at \(rulesPath); pass --rules FILE.yml or a folder of them")
        }
        let files: [URL]
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: rulesPath).filter {
                $0.hasSuffix(".yml") || $0.hasSuffix(".yaml")
            }.sorted()
            guard !names.isEmpty else { throw ConfigurationError("no .yml rules files in \(rulesPath)") }
            files = names.map { URL(fileURLWithPath: rulesPath).appendingPathComponent($0) }
        } else {
            files = [URL(fileURLWithPath: rulesPath)]
        }
        return try files.map { file in
            let id = files.count == 1 ? "default" : file.deletingPathExtension().lastPathComponent
            return BusinessConfiguration(
                id: id, rules: try RulesLoader.load(contentsOf: file), apiKey: files.count == 1 ? defaultAPIKey : nil)
        }
    }

    public static func businesses(configPath: String, environment: [String: String]) throws -> [BusinessConfiguration] {
        let text: String
        do {
            text = try String(contentsOfFile: configPath, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read the config file \(configPath)")
        }
        let config: ConfigFile
        do {
            config = try YAMLDecoder().decode(ConfigFile.self, from: text)
        } catch {
            throw ConfigurationError(
                "\(configPath): \(error)\n  fix: write `businesses:` then entries with id, rules, numbers and api_key_env")
        }
        let base = URL(fileURLWithPath: configPath).deletingLastPathComponent()
        let ids = config.businesses.map(\.id)
        if let repeated = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) {
            throw ConfigurationError("\(configPath): business id `\(repeated)` is used twice; ids must be unique")
        }
        return try config.businesses.map { entry in
            let rulesURL = entry.rules.hasPrefix("/") ? URL(fileURLWithPath: entry.rules) : base.appendingPathComponent(entry.rules)
            var rules = try RulesLoader.load(contentsOf: rulesURL)
            if let zone = entry.time_zone {
                guard let timeZone = TimeZone(identifier: zone) else {
                    throw ConfigurationError(
                        "\(configPath): business \(entry.id): unknown time zone `\(zone)`; use an IANA name such as America/New_York")
                }
                rules.business.timeZone = timeZone
            }
            let plans = Plan.included.keys.sorted() + ["enterprise"]
            if let plan = entry.plan, !plans.contains(plan) {
                throw ConfigurationError(
                    "\(configPath): business \(entry.id): unknown plan `\(plan)`; use one of \(plans.joined(separator: ", "))")
            }
            let numbers = try (entry.numbers ?? []).map { text in
                guard let number = PhoneNumber(text, defaultCountry: rules.business.country) else {
                    throw ConfigurationError(
                        "\(configPath): business \(entry.id): `\(text)` is not a phone number; write E.164 such as +15551234567")
                }
                return number.e164
            }
            var key: String?
            if let variable = entry.api_key_env {
                guard let value = environment[variable], !value.isEmpty else {
                    throw ConfigurationError(
                        "\(configPath): business \(entry.id): environment variable \(variable) (its API key) is not set")
                }
                key = value
            }
            return BusinessConfiguration(
                id: entry.id, rules: rules, numbers: numbers, messagingServiceIDs: entry.messaging_service_sids ?? [], apiKey: key,
                plan: entry.plan ?? "starter", accountSID: entry.account_sid)
        }
    }
}

/// A configuration or command-line failure with a message a person can act on.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
