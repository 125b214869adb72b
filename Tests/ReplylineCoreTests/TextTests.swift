import Testing

@testable import ReplylineCore

@Suite("Segments")
struct SegmentTests {
    @Test("GSM-7 fits 160 characters in one segment, then 153 per part")
    func gsm7Boundaries() {
        #expect(SegmentCounter.count(String(repeating: "a", count: 160)) == SegmentCount(encoding: .gsm7, units: 160, segments: 1))
        #expect(SegmentCounter.count(String(repeating: "a", count: 161)).segments == 2)
        #expect(SegmentCounter.count(String(repeating: "a", count: 306)).segments == 2)
        #expect(SegmentCounter.count(String(repeating: "a", count: 307)).segments == 3)
    }

    @Test("GSM-7 extension characters count twice and an escape pair is never split")
    func extensionCharacters() {
        let count = SegmentCounter.count("{}[]~|^€\\")
        #expect(count.encoding == .gsm7)
        #expect(count.units == 18)
        // 152 plain septets then an escape pair: the pair moves whole to part two.
        let text = String(repeating: "a", count: 152) + "€" + String(repeating: "a", count: 10)
        #expect(SegmentCounter.count(text).segments == 2)
        let split = String(repeating: "a", count: 152) + "€" + String(repeating: "a", count: 152)
        #expect(SegmentCounter.count(split).units == 306)
        #expect(SegmentCounter.count(split).segments == 3)
    }

    @Test("Any character outside GSM-7 makes the whole message UCS-2", arguments: ["Let’s meet", "Thanks 😊", "我想改时间", "Çava ✓"])
    func ucs2(text: String) {
        #expect(SegmentCounter.count(text).encoding == .ucs2)
    }

    @Test("UCS-2 fits 70 units, then 67 per part; surrogate pairs stay whole")
    func ucs2Boundaries() {
        #expect(SegmentCounter.count(String(repeating: "é", count: 69) + "✓").segments == 1)
        #expect(SegmentCounter.count(String(repeating: "✓", count: 71)).segments == 2)
        let emoji = String(repeating: "✓", count: 66) + "😊" + "✓"
        #expect(SegmentCounter.count(emoji).units == 69)
        #expect(SegmentCounter.count(String(repeating: "✓", count: 66) + "😊" + String(repeating: "✓", count: 10)).segments == 2)
        #expect(SegmentCounter.count(String(repeating: "✓", count: 66) + "😊" + String(repeating: "✓", count: 66)).segments == 3)
    }

    @Test("Plain ASCII counts the same on the fast path: extension characters twice, backtick and tab make it UCS-2")
    func asciiFastPath() {
        #expect(SegmentCounter.count("{}[]~|^\\") == SegmentCount(encoding: .gsm7, units: 16, segments: 1))
        #expect(SegmentCounter.count(String(repeating: "a", count: 152) + "{" + String(repeating: "a", count: 10)).segments == 2)
        #expect(SegmentCounter.count(String(repeating: "a", count: 152) + "{" + String(repeating: "a", count: 152)).segments == 3)
        #expect(SegmentCounter.count("use `code`").encoding == .ucs2)
        #expect(SegmentCounter.count("tab\there").encoding == .ucs2)
        #expect(SegmentCounter.count("line\nbreak").encoding == .gsm7)
    }

    @Test("An empty message is one segment of GSM-7")
    func empty() {
        #expect(SegmentCounter.count("") == SegmentCount(encoding: .gsm7, units: 0, segments: 1))
    }
}

@Suite("Phone numbers")
struct PhoneNumberTests {
    @Test(
        "Typed numbers become E.164",
        arguments: [
            ("(555) 234-5678", "US", "+15552345678"), ("555.234.5678", "US", "+15552345678"),
            ("1 555 234 5678", "US", "+15552345678"), ("+1 (555) 234-5678", "US", "+15552345678"),
            ("020 7946 0958", "GB", "+442079460958"), ("00 44 20 7946 0958", "US", "+442079460958"),
            ("+61 412 345 678", "US", "+61412345678"),
        ])
    func parses(input: String, country: String, expected: String) {
        #expect(PhoneNumber(input, defaultCountry: country)?.e164 == expected)
    }

    @Test(
        "Garbage is not a phone number",
        arguments: ["", "hello", "555-1234", "+1", "(055) 234-5678", "+0 555 234 5678", "555 234 5678 ext 9", "++15552345678"])
    func rejects(input: String) {
        #expect(PhoneNumber(input, defaultCountry: "US") == nil)
    }
}

@Suite("Templates")
struct TemplateTests {
    @Test("Both spellings of a variable render the same value")
    func spellings() throws {
        let values: [Template.Variable: String] = [.customerName: "Ana", .service: "Cleaning"]
        #expect(try Template("Hi [CustomerName], your [Service]").render(values) == "Hi Ana, your Cleaning")
        #expect(try Template("Hi <customer_name>, your <service>").render(values) == "Hi Ana, your Cleaning")
    }

    @Test("An unknown variable is refused when the template is parsed")
    func unknown() {
        #expect(throws: Template.UnknownVariable(name: "[Clinic]")) { try Template("Welcome to [Clinic]") }
        #expect(throws: Template.UnknownVariable(name: "<first_name>")) { try Template("Hi <first_name>") }
    }

    @Test("Brackets that hold no identifier are plain text")
    func plainBrackets() throws {
        #expect(try Template("Reply [1] or <3 or [ ]").render([:]) == "Reply [1] or <3 or [ ]")
    }
}
