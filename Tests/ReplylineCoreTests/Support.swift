import Foundation
import ReplylineCore

/// The shipped rules, loaded from the repository, as every core test uses them.
enum Shipped {
    static let rulesURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Rules/default.yml")

    static let rules: Rules = try! RulesLoader.load(contentsOf: rulesURL)
    static let engine = ConversationEngine(rules: rules)
}

extension Date {
    /// A fixed instant: 2026-11-25 15:00 UTC, 10:00 in New York.
    static let noon = Date(timeIntervalSince1970: 1_795_618_800)
}
