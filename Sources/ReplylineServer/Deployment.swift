import Foundation
import NIOCore
import NIOPosix
import ReplylineCore
import ReplylineProviders
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
            /// The account at its provider (Twilio: AC…) its status callbacks must name.
            var account_sid: String?
            /// The provider it sends through; `twilio` when left out.
            var provider: String?
        }
        var businesses: [BusinessEntry]
    }

    /// One business per rules file: `rulesPath` is a file (the business `default`) or a
    /// folder (each `.yml` a business named after its file). Each business's API key comes
    /// from `REPLYLINE_API_KEY` (the business `default`) or `REPLYLINE_API_KEY_<ID>`, and
    /// is left nil (to be generated and printed) when that variable is unset.
    public static func businesses(rulesPath: String, environment: [String: String], plan: String? = nil) throws -> [BusinessConfiguration] {
        let plan = try Self.plan(plan, where: "--plan")
        let (files, isFolder) = try rulesFiles(at: rulesPath)
        let businesses = try files.map { file in
            let url = URL(fileURLWithPath: file)
            let id = isFolder ? url.deletingPathExtension().lastPathComponent : "default"
            let key = environment[apiKeyVariable(forBusiness: id)].flatMap { $0.isEmpty ? nil : $0 }
            return BusinessConfiguration(id: id, rules: try RulesLoader.load(contentsOf: url), apiKey: key, plan: plan)
        }
        try validate(businesses, source: rulesPath)
        return businesses
    }

    /// `path` itself when it is a file, else the `.yml` and `.yaml` files in the folder it
    /// names, sorted.
    public static func rulesFiles(at path: String) throws -> (files: [String], isFolder: Bool) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigurationError("rules not found at \(path); pass a rules file (Rules/default.yml) or a folder of them")
        }
        guard isDirectory.boolValue else { return ([path], false) }
        let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
        guard !names.isEmpty else { throw ConfigurationError("no .yml rules files in \(path)") }
        return (names.sorted().map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }, true)
    }

    /// The environment variable holding the API key of business `id` when businesses come
    /// from rules files: `REPLYLINE_API_KEY` for `default`, else `REPLYLINE_API_KEY_SALON`
    /// for `salon` (letters and digits upper-cased, anything else `_`).
    public static func apiKeyVariable(forBusiness id: String) -> String {
        guard id != "default" else { return "REPLYLINE_API_KEY" }
        let suffix = id.uppercased().unicodeScalars.map { ("A"..."Z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "_" }
        return "REPLYLINE_API_KEY_" + String(suffix)
    }

    /// Refuses a deployment whose webhooks or keys could reach the wrong business: two
    /// businesses receiving on any number, one number or Messaging Service listed twice, or
    /// one API key shared.
    static func validate(_ businesses: [BusinessConfiguration], source: String) throws {
        let catchAll = businesses.filter { $0.receivingNumbers.isEmpty && $0.messagingServiceIDs.isEmpty }
        if catchAll.count > 1 {
            throw ConfigurationError(
                """
                \(source): businesses \(catchAll.map(\.id).joined(separator: " and ")) all receive texts on any number, so a webhook \
                could not tell which business it is for.
                  fix: list each business's provider numbers (E.164) under `business.numbers` in its rules file (or `numbers:` in \
                --config); at most one business may leave them empty, and it receives texts to every number no other business lists
                """)
        }
        var owners: [String: String] = [:]
        for business in businesses {
            for number in business.receivingNumbers {
                if let other = owners.updateValue(business.id, forKey: number), other != business.id {
                    throw ConfigurationError(
                        "\(source): \(number) is listed by both \(other) and \(business.id)\n  fix: give each provider number to one business"
                    )
                }
            }
            for service in business.messagingServiceIDs {
                if let other = owners.updateValue(business.id, forKey: service), other != business.id {
                    throw ConfigurationError(
                        "\(source): Messaging Service \(service) is listed by both \(other) and \(business.id)\n  fix: give each service to one business"
                    )
                }
            }
        }
        let keyed = businesses.compactMap { business in business.apiKey.map { ($0, business.id) } }
        for (index, (key, id)) in keyed.enumerated() {
            if let other = keyed[..<index].first(where: { $0.0 == key }) {
                throw ConfigurationError(
                    "\(source): businesses \(other.1) and \(id) have the same API key\n  fix: give each business a key of its own")
            }
        }
    }

    /// The plan named `name`, or nil for none; an unknown name is refused with the names to use.
    static func plan(_ name: String?, where place: String) throws -> Plan? {
        guard let name else { return nil }
        guard let plan = Plan(rawValue: name) else {
            throw ConfigurationError(
                "\(place): unknown plan `\(name)`; use one of \(Plan.names.joined(separator: ", ")), or leave it out for no limit")
        }
        return plan
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
        let businesses = try config.businesses.map { entry in
            let rulesURL = entry.rules.hasPrefix("/") ? URL(fileURLWithPath: entry.rules) : base.appendingPathComponent(entry.rules)
            var rules = try RulesLoader.load(contentsOf: rulesURL)
            if let zone = entry.time_zone {
                guard let timeZone = TimeZone(identifier: zone) else {
                    throw ConfigurationError(
                        "\(configPath): business \(entry.id): unknown time zone `\(zone)`; use an IANA name such as America/New_York")
                }
                rules.business.timeZone = timeZone
            }
            let plan = try plan(entry.plan, where: "\(configPath): business \(entry.id)")
            // A typo here would silently ignore every status callback of the business.
            let provider = entry.provider ?? TwilioProvider.name
            if provider == TwilioProvider.name, let account = entry.account_sid,
                !(account.count == 34 && account.hasPrefix("AC") && account.dropFirst(2).allSatisfy(\.isHexDigit))
            {
                throw ConfigurationError(
                    "\(configPath): business \(entry.id): account_sid `\(account.prefix(40))` is not a Twilio account SID; copy it from the console: AC followed by 32 hex digits"
                )
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
                plan: plan, accountSID: entry.account_sid, provider: provider)
        }
        try validate(businesses, source: configPath)
        return businesses
    }
}

extension Deployment {
    /// `text` as the base URL signatures are checked against, or an error showing the
    /// expected form. Without a scheme every signature would fail, since the provider
    /// signs the full URL it calls.
    public static func publicURL(_ text: String) throws -> String {
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        let example = "https://sms.example.com (the scheme and host the provider calls, with a port only if not the default)"
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw ConfigurationError("--public-url `\(text)` is not a URL with http:// or https://; write it as \(example)")
        }
        guard components.query == nil, components.fragment == nil, components.user == nil, components.password == nil else {
            throw ConfigurationError(
                "--public-url `\(text)` has a query, fragment or user name; give only the base, as \(example). The request's own path and query are added to it."
            )
        }
        return url
    }

    /// Throws "port N is in use; choose another with --port" when `host:port` cannot be
    /// listened on, before the server says it is listening.
    public static func checkAvailable(host: String, port: Int, option: String) async throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            try await channel.close()
        } catch  where isAddressInUse(error) {
            throw ConfigurationError("port \(port) is in use; choose another with \(option)")
        } catch {
            throw ConfigurationError("cannot listen on \(host):\(port) (\(error)); check --host and \(option)")
        }
    }

    /// Whether `error` is a listener's "address already in use".
    public static func isAddressInUse(_ error: any Error) -> Bool {
        (error as? IOError)?.errnoCode == EADDRINUSE
    }
}

/// A configuration or command-line failure with a message a person can act on.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
