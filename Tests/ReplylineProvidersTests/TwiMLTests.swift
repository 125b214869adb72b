import Foundation
import FoundationXML
import Testing

@testable import ReplylineProviders

@Suite("TwiML")
struct TwiMLTests {
    /// Element name and text of every node, in document order, as libxml2 reads them.
    static func tree(_ xml: String) throws -> [String] {
        let document = try XMLDocument(xmlString: xml, options: [])
        var out: [String] = []
        func walk(_ node: XMLNode) {
            if node.kind == .element { out.append("<\(node.name ?? "")>") }
            if node.kind == .text { out.append(node.stringValue ?? "") }
            for child in node.children ?? [] { walk(child) }
        }
        walk(document.rootElement()!)
        return out
    }

    @Test("Nothing to say is an empty Response")
    func empty() throws {
        #expect(TwiML.render([]) == #"<?xml version="1.0" encoding="UTF-8"?><Response/>"#)
        #expect(try Self.tree(TwiML.render([])) == ["<Response>"])
    }

    @Test(
        "Text is escaped and survives a libxml2 round trip",
        arguments: ["Tom & Jerry <b>", "]]> \"q\" 'a'", "我想改时间 😊", "line1\nline2\ttab", "&amp; already"])
    func escaping(text: String) throws {
        let xml = TwiML.render([TwiMLMessage(body: text)])
        #expect(try Self.tree(xml) == ["<Response>", "<Message>", text])
    }

    @Test("Control characters XML cannot carry are dropped")
    func controls() throws {
        let xml = TwiML.render([TwiMLMessage(body: "a\u{0}b\u{1B}c\u{7}")])
        #expect(try Self.tree(xml) == ["<Response>", "<Message>", "abc"])
    }

    @Test("Provider limits: 10 messages, 10 media, 1,600 characters")
    func limits() throws {
        let many = (0..<12).map { TwiMLMessage(body: "m\($0)", mediaURLs: (0..<12).map { "https://x/\($0)" }) }
        let tree = try Self.tree(TwiML.render(many))
        #expect(tree.filter { $0 == "<Message>" }.count == 10)
        #expect(tree.filter { $0 == "<Media>" }.count == 100)
        let long = try Self.tree(TwiML.render([TwiMLMessage(body: String(repeating: "é", count: 2000))]))
        #expect(long.last?.count == 1600)
    }

    struct OracleCase: Decodable {
        struct Message: Decodable {
            var body: String
            var media: [String]
        }
        var messages: [Message]
        var xml: String
    }

    @Test("Output matches the official twilio MessagingResponse for the same content")
    func oracle() throws {
        let cases = try JSONDecoder().decode([OracleCase].self, from: Repository.fixture("twiml/_messaging_response.json"))
        #expect(cases.count >= 12)
        for item in cases {
            let ours = TwiML.render(item.messages.map { TwiMLMessage(body: $0.body, mediaURLs: $0.media) })
            // The library writes an empty element as `<Response />`; both parse the same.
            if item.messages.isEmpty {
                #expect(try Self.tree(ours) == Self.tree(item.xml))
            } else {
                #expect(ours == item.xml)
            }
        }
    }
}
