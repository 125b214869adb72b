import Benchmark
import Foundation
import ReplylineCore
import ReplylineProviders

/// Throughput and allocations per operation of the pure core: what every inbound webhook
/// runs before and after its database transaction.
let benchmarks: @Sendable () -> Void = {
    let smoke = ProcessInfo.processInfo.environment["BENCHMARK_SMOKE"] != nil
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        maxDuration: smoke ? .milliseconds(20) : .seconds(2),
        maxIterations: smoke ? 20 : 1_000_000)

    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let rules = try! RulesLoader.load(contentsOf: root.appendingPathComponent("Rules/default.yml"))
    let engine = ConversationEngine(rules: rules)
    let matcher = KeywordMatcher(rules: rules)
    let now = Date(timeIntervalSince1970: 1_795_618_800)
    let contact = ContactSnapshot(upcomingAppointments: [
        Appointment(id: "apt_1", customerName: "Ana", service: "Cleaning", startsAt: now.addingTimeInterval(86_400), state: .awaitingReply)
    ])

    // A real Twilio inbound form, 19 parameters, and its signature.
    let parameters: [(name: String, value: String)] = [
        ("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", "SM0123456789abcdef0123456789abcdef"), ("NumMedia", "0"),
        ("ToCity", "SAN FRANCISCO"), ("FromZip", "94105"), ("SmsSid", "SM0123456789abcdef0123456789abcdef"), ("FromState", "CA"),
        ("SmsStatus", "received"), ("FromCity", "SAN FRANCISCO"), ("Body", "Do you have parking near the office?"), ("FromCountry", "US"),
        ("To", "+15017122661"), ("ToZip", "94105"), ("NumSegments", "1"), ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"), ("From", "+14155550100"), ("ApiVersion", "2010-04-01"),
    ]
    let body = Array(
        parameters.map { "\($0.name)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
            .joined(separator: "&").utf8)
    let url = "https://replyline.example.com/webhooks/twilio/messages"
    let signature = TwilioSignature.compute(url: url, parameters: parameters, secret: "benchmark-token")
    let verifier = TwilioSignatureVerifier(authToken: "benchmark-token", sharedKey: nil)

    Benchmark("FormBody.decode (19 parameters)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try! FormBody.decode(body)) }
    }
    Benchmark("TwilioSignatureVerifier.verify (HMAC-SHA1)") { benchmark in
        for _ in benchmark.scaledIterations {
            try! verifier.verify(url: url, parameters: parameters, rawBody: body, signature: signature, signatureSettings: nil)
        }
    }
    Benchmark("KeywordMatcher normalize + match (ASCII)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(matcher.match(normalized: KeywordMatcher.normalize("  Confirm! "))) }
    }
    Benchmark("KeywordMatcher normalize + match (full-width, emoji)") { benchmark in
        for _ in benchmark.scaledIterations {
            for text in ["ＳＴＯＰ", "HOURS 🙏"] { blackHole(matcher.match(normalized: KeywordMatcher.normalize(text))) }
        }
    }
    Benchmark("ConversationEngine.decide (C, appointment awaiting)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(engine.decide(InboundText(body: "C"), contact: contact, now: now)) }
    }
    Benchmark("ConversationEngine.decide (free text)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(engine.decide(InboundText(body: "Do you have parking near the office?"), contact: contact, now: now))
        }
    }
    Benchmark("SegmentCounter.count (GSM-7, 150 characters)") { benchmark in
        let text = String(repeating: "Reply C to confirm. ", count: 7) + "0123456789"
        for _ in benchmark.scaledIterations { blackHole(SegmentCounter.count(text)) }
    }
    Benchmark("TwiML.render (one message)") { benchmark in
        let messages = [TwiMLMessage(body: "Thanks Ana, your Cleaning on Fri, Nov 27 at 2:00 PM is confirmed. See you then!")]
        for _ in benchmark.scaledIterations { blackHole(TwiML.render(messages)) }
    }
}
