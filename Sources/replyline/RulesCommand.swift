import ArgumentParser
import Foundation
import ReplylineCore

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Work with rules files.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate rules files; exit 1 if any has an error.")

        @Argument(help: "Rules files to check.") var files: [String]

        func run() throws {
            var failed = false
            for file in files {
                do {
                    let rules = try RulesLoader.load(contentsOf: URL(fileURLWithPath: file))
                    print("\(file): ok (\(rules.business.name))")
                } catch let error as RulesLoadError {
                    failed = true
                    print(error.description)
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
