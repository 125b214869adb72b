import Testing

@testable import ReplylineProviders

@Suite("Hostile input in the adapters")
struct HostileInputTests {
    @Test("Errors echo request text escaped and cut short: no line breaks, NULs or whole bodies")
    func escapedEchoes() {
        let number = "+1415\r\nINJECTED: yes\u{0}" + String(repeating: "9", count: 500)
        let text = WebhookError.unknownNumber(number).description
        #expect(!text.contains("\r") && !text.contains("\n") && !text.contains("\u{0}"))
        #expect(text.contains(#"\u{d}\u{a}INJECTED: yes\u{0}"#))
        #expect(text.count < 200)
        #expect(WebhookError.invalidParameter("MessageStatus", "`x\ny`").description == #"Invalid parameter MessageStatus: `x\u{a}y`."#)
        #expect(WebhookError.printable("Hola 😊 ¿qué?") == "Hola 😊 ¿qué?")
        #expect(WebhookError.printable("\u{202E}evil") == #"\u{202e}evil"#)
    }

    @Test("A NUL in the body is stored and decided on as U+FFFD; the parameters keep the original")
    func nulInBody() throws {
        let form = try FormBody.decode(
            "MessageSid=SM1&From=%2B14155550100&To=%2B15017122661&Body=a%00b%00")
        let message = try TwilioInbound.parse(form)
        #expect(message.body == "a\u{FFFD}b\u{FFFD}")
        #expect(message.parameters.first { $0.name == "Body" }?.value == "a\u{0}b\u{0}")
    }

    @Test("Required fields are trimmed of spaces and tabs only; blank ones are missing")
    func trimming() throws {
        #expect(trimmed("  \t+1415 \t") == "+1415")
        #expect(trimmed(" \t ").isEmpty)
        #expect(trimmed("x") == "x")
        #expect(throws: WebhookError.missingParameter("To")) {
            try TwilioInbound.parse(FormBody.decode("MessageSid=SM1&From=%2B1415&To=+%09+"))
        }
    }
}
