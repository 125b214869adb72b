import ArgumentParser
import Foundation
import ReplylineCore
import ReplylineServer

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Work with rules files.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate and lint rules files.",
            discussion: "Errors (the file cannot be used) exit with status 1; warnings alone exit 0 unless --strict.")

        @Argument(help: "Rules files to check, or folders of them.") var files: [String]
        @Flag(help: "Exit with status 1 on warnings too.") var strict = false

        func run() throws {
            var errors = 0
            var warnings = 0
            for file in try Self.expand(files) {
                do {
                    let rules = try RulesLoader.load(contentsOf: URL(fileURLWithPath: file))
                    let found = RulesLinter.lint(rules)
                    let counted = found.filter { !$0.accepted }.count
                    warnings += counted
                    for warning in found { print(warning) }
                    print("\(file): \(counted == 0 ? "ok" : "\(counted) warning\(counted == 1 ? "" : "s")") (\(rules.business.name))")
                    print("  reminders: \(rules.reminders.isEmpty ? "none" : rules.reminders.map(\.description).joined(separator: ", "))")
                    for line in Self.describeActions(rules) { print(line) }
                } catch let error as RulesLoadError {
                    errors += error.errors.count
                    for problem in error.errors { print(problem) }
                    print("\(file): \(error.errors.count) error\(error.errors.count == 1 ? "" : "s")")
                }
            }
            if errors > 0 || (strict && warnings > 0) { throw ExitCode(1) }
        }

        /// The paths given, with each folder replaced by its rules files.
        static func expand(_ paths: [String]) throws -> [String] {
            try paths.flatMap { try Deployment.rulesFiles(at: $0).files }
        }
    }
}
