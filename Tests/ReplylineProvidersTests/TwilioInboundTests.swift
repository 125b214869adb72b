import Testing

@testable import ReplylineProviders

@Suite("Twilio inbound parameters")
struct TwilioInboundTests {
    static func form(_ extra: [(String, String)]) throws -> FormBody {
        var pairs = [("MessageSid", "SM1"), ("From", "+14155550100"), ("To", "+15017122661"), ("Body", "hi")]
        pairs = pairs.filter { pair in !extra.contains { $0.0 == pair.0 } } + extra
        return try FormBody.decode(Array(pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&").utf8))
    }

    @Test(
        "A From or To on another channel is refused as SMS and MMS only",
        arguments: [
            ("From", "whatsapp:%2B14155550100", "whatsapp"), ("To", "WhatsApp:%2B15017122661", "whatsapp"),
            ("From", "messenger:123456", "messenger"), ("From", "rcs:%2B14155550100", "rcs"),
        ])
    func channels(name: String, value: String, channel: String) throws {
        #expect(throws: WebhookError.unsupportedChannel(name, channel)) { try TwilioInbound.parse(try Self.form([(name, value)])) }
    }

    @Test("Plain numbers in any spelling are left to the server, which knows the business's country")
    func plainNumbers() throws {
        for value in ["4155550100", "%2B1+(415)+555-0100", "abc", "12345"] {
            #expect(TwilioInbound.channel(of: value) == nil)
            _ = try TwilioInbound.parse(try Self.form([("From", value)]))
        }
    }

    @Test(
        "Media URLs: absolute http(s) with a host are kept, everything else is dropped",
        arguments: [
            ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", true), ("http://cdn.example.com/a.png?x=1", true),
            ("HTTPS://CDN.EXAMPLE.COM/A.PNG", true), ("javascript:alert(1)", false), ("data:image/png;base64,AAAA", false),
            ("file:///etc/passwd", false), ("https://", false), ("//cdn.example.com/a.png", false), ("/media/a.png", false),
            ("https://cdn.example.com/a\u{0}b", false), ("https://cdn.example.com/a b", false), ("https://cdn.example.com/\u{85}", false),
            ("ftp://cdn.example.com/a.png", false), ("", false),
        ])
    func mediaURLs(url: String, kept: Bool) {
        #expect(TwilioInbound.isWebURL(url) == kept)
    }

    @Test("A dropped media URL is named in droppedMedia and stays in the parameters; NumMedia still counts it")
    func droppedMedia() throws {
        let form = try Self.form([
            ("NumMedia", "2"), ("MediaUrl0", "javascript:alert(1)"), ("MediaUrl1", "https%3A%2F%2Fcdn.example.com%2Fa.png"),
        ])
        let message = try TwilioInbound.parse(form)
        #expect(message.media.map(\.url) == ["https://cdn.example.com/a.png"])
        #expect(message.droppedMedia == ["MediaUrl0"])
        #expect(message.parameters.contains { $0 == ("MediaUrl0", "javascript:alert(1)") })
    }
}
