import Foundation
import FuzzSupport
import ReplylineCore

/// The program's entry point: SwiftPM links `main` to `FuzzRules_main` (see LibFuzzerDriver.h).
@_cdecl("FuzzRules_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv)
}

let file = "fuzz.yml"
let now = Date(timeIntervalSince1970: 1_795_618_800)

/// The rules loader on any YAML (the input as UTF-8, invalid sequences replaced): it throws
/// `RulesLoadError` with at least one error, each naming the file and giving a message and a
/// fix, or returns rules that keep the loader's promises (the required keyword lists are
/// there, each word belongs to one intent, custom keywords are apart from them, opening
/// comes before closing), that the matcher reads as listed, and that the linter and the
/// engine run on without crashing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let rules: Rules
    do {
        rules = try RulesLoader.load(yaml: yaml, file: file)
    } catch let error as RulesLoadError {
        require(!error.errors.isEmpty, "RulesLoadError without errors")
        for problem in error.errors {
            require(problem.file == file, "an error names file \(String(reflecting: problem.file)): \(problem)")
            require(!problem.message.isEmpty && !problem.fix.isEmpty, "an error without a message or a fix: \(problem)")
            require(problem.line.map { $0 >= 0 } ?? true, "an error on line \(problem.line!): \(problem)")
        }
        return 0
    } catch {
        fatalError("invariant failed: RulesLoader threw \(type(of: error)), not RulesLoadError: \(error)")
    }

    for intent in [KeywordIntent.optOut, .optIn, .help] {
        require(!rules.keywords[intent, default: []].isEmpty, "rules loaded without \(intent) keywords")
    }
    require(rules.business.opensAt < rules.business.closesAt, "opens at \(rules.business.opensAt), closes at \(rules.business.closesAt)")
    var owner: [String: KeywordIntent] = [:]
    for (intent, words) in rules.keywords {
        for word in words {
            require(!word.isEmpty, "an empty \(intent) keyword")
            require(owner[word] == nil, "`\(word)` is both \(owner[word]!) and \(intent)")
            owner[word] = intent
        }
    }
    for word in rules.custom.keys {
        require(!word.isEmpty && owner[word] == nil, "custom keyword `\(word)` is empty or also \(owner[word].map { "\($0)" } ?? "")")
    }

    let matcher = KeywordMatcher(rules: rules)
    for (word, intent) in owner {
        require(matcher.match(normalized: word) == .keyword(intent), "`\(word)` is listed for \(intent) but does not match it")
    }
    for word in rules.custom.keys {
        require(matcher.match(normalized: word) == .custom(word), "custom keyword `\(word)` does not match itself")
    }

    _ = RulesLinter.lint(rules)
    let engine = ConversationEngine(rules: rules)
    let contact = ContactSnapshot(
        customerName: "Ana",
        upcomingAppointments: [
            Appointment(id: "a1", service: "Cleaning", startsAt: now + 86_400, amountCents: 4_250, state: .awaitingReply)
        ])
    for body in Array(owner.keys) + Array(rules.custom.keys) + rules.optInWhileOptedOut + ["Is there parking?", "please stop texting me"] {
        for consent in [ConsentState.optedIn, .optedOut] {
            var contact = contact
            contact.consent = consent
            _ = engine.decide(InboundText(body: body), contact: contact, now: now)
        }
    }
    let appointment = contact.upcomingAppointments[0]
    for template in [rules.replies.confirmationRequest, rules.replies.reminder] + [rules.replies.postCall].compactMap({ $0 }) {
        _ = engine.render(template, contact: contact, appointment: appointment)
    }
    return 0
}
