import ArgumentParser

@main
struct ReplylineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replyline",
        abstract: "Inbound SMS conversation engine for appointment businesses.",
        subcommands: [
            Serve.self, Replay.self, Simulate.self, RulesCommand.self, Export.self, Migrate.self, Backup.self, Copy.self, StaffCommand.self,
        ])
}
