import Foundation
import FoundationXML
import FuzzSupport
import ReplylineProviders

/// The program's entry point: SwiftPM links `main` to `FuzzTwiML_main` (see LibFuzzerDriver.h).
@_cdecl("FuzzTwiML_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv)
}

let header = #"<?xml version="1.0" encoding="UTF-8"?>"#

/// TwiML rendering of messages read from the input: split at each 0x1E byte into messages,
/// each split at 0x1F into its body and media URLs (UTF-8, invalid sequences replaced;
/// empty input is no message). The XML must parse (libxml2) into `<Response>` with one
/// `<Message>` per message up to 10, each holding its body as text, or, with media, an
/// optional `<Body>` and up to 10 `<Media>`; every text must read back as the input,
/// truncated to 1,600 characters and less what TwiML.swift documents it drops (control
/// characters but tab, line feed and carriage return; U+FFFE and U+FFFF).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let messages: [TwiMLMessage] =
        size == 0
        ? []
        : Array(input).split(separator: 0x1E, omittingEmptySubsequences: false).map { message in
            let parts = message.split(separator: 0x1F, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            return TwiMLMessage(body: parts[0], mediaURLs: Array(parts.dropFirst()))
        }
    let xml = TwiML.render(messages)
    require(xml.hasPrefix(header), "no XML declaration: \(String(reflecting: xml))")
    if messages.isEmpty {
        require(xml == header + "<Response/>", "no messages rendered as \(String(reflecting: xml))")
    }

    let response: Element
    do {
        response = try Element.parse(xml)
    } catch {
        fatalError("invariant failed: TwiML does not parse as XML (\(error)): \(String(reflecting: xml))")
    }
    require(response.name == "Response" && response.text.isEmpty, "the root is not a bare <Response>: \(String(reflecting: xml))")
    require(
        response.children.count == min(messages.count, TwiML.maxMessages),
        "\(response.children.count) elements for \(messages.count) messages: \(String(reflecting: xml))")
    for (message, element) in zip(messages, response.children) {
        require(element.name == "Message", "<\(element.name)> where a <Message> belongs: \(String(reflecting: xml))")
        let body = message.body.count > TwiML.maxBodyCharacters ? String(message.body.prefix(TwiML.maxBodyCharacters)) : message.body
        if message.mediaURLs.isEmpty {
            require(element.children.isEmpty, "a message without media holds elements: \(String(reflecting: xml))")
            expect(element, reads: body, in: xml)
            continue
        }
        require(element.text.isEmpty, "a message with media holds text outside <Body>: \(String(reflecting: xml))")
        var children = element.children[...]
        if !body.isEmpty {
            require(children.first?.name == "Body", "no <Body> first in a message with media and a body: \(String(reflecting: xml))")
            expect(children.removeFirst(), reads: body, in: xml)
        }
        require(
            children.count == min(message.mediaURLs.count, TwiML.maxMediaPerMessage),
            "\(children.count) elements for \(message.mediaURLs.count) media: \(String(reflecting: xml))")
        for (url, media) in zip(message.mediaURLs, children) {
            require(media.name == "Media" && media.children.isEmpty, "<\(media.name)> where a <Media> belongs: \(String(reflecting: xml))")
            expect(media, reads: url, in: xml)
        }
    }
    return 0
}

/// `element`'s text is `text` as TwiML.swift documents it writes it: less the control
/// characters XML 1.0 cannot carry (all below U+0020 but tab, line feed and carriage
/// return) and the non-characters U+FFFE and U+FFFF. A parser then reads each carriage
/// return, alone or before a line feed, as a line feed (XML 1.0, 2.11): TwiML writes them
/// raw, as Twilio's own helper does (Fixtures/twiml/_messaging_response.json).
func expect(_ element: Element, reads text: String, in xml: String) {
    var written = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" { continue }
        if scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
        written.append(scalar)
    }
    var parsed = String.UnicodeScalarView()
    var afterCarriageReturn = false
    for scalar in written {
        if scalar == "\n" && afterCarriageReturn {
            afterCarriageReturn = false
            continue
        }
        afterCarriageReturn = scalar == "\r"
        parsed.append(afterCarriageReturn ? "\n" : scalar)
    }
    let expected = String(parsed)
    require(
        sameBytes(element.text, expected),
        "<\(element.name)> reads \(String(reflecting: element.text)), expected \(String(reflecting: expected)) "
            + "from \(String(reflecting: text)) in \(String(reflecting: xml))")
}

/// An element as libxml2 reads it, through FoundationXML's `XMLParser`: its name, the text
/// directly inside it, and its child elements. (`XMLDocument` would do, but in
/// swift-corelibs-foundation it never frees a parsed document: about 14 KB an input, which
/// fills the fuzzer's memory limit within a minute.)
final class Element {
    let name: String
    var text = ""
    var children: [Element] = []

    init(name: String) { self.name = name }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ xml: String) throws -> Element {
        let parser = XMLParser(data: Data(xml.utf8))
        let builder = TreeBuilder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw ParseError(description: parser.parserError.map { "\($0)" } ?? "no root element")
        }
        return root
    }
}

final class TreeBuilder: NSObject, XMLParserDelegate {
    var root: Element?
    var open: [Element] = []

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        let element = Element(name: name)
        if let parent = open.last { parent.children.append(element) } else { root = element }
        open.append(element)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        open.last?.text += string
    }
}
