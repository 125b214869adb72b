import Foundation
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

    @Test(
        "Without a country, a number must carry its country code: E.164, 00, or digits that start with it",
        arguments: [
            ("+15017122661", "+15017122661"), ("15017122661", "+15017122661"), ("+1 501 712 2661", "+15017122661"),
            ("0044 20 7946 0958", "+442079460958"), ("447700900123", "+447700900123"), ("12345", nil), ("0207946095", nil),
            ("abc", nil), ("", nil), ("+0123456789", nil), ("whatsapp:+15017122661", nil),
        ])
    func withCountryCode(input: String, expected: String?) {
        #expect(PhoneNumber(withCountryCode: input)?.e164 == expected)
    }

    @Test("A number already in E.164 is kept as it is, whatever the default country")
    func alreadyE164() {
        for input in ["+15017122661", "+447700900123", "+61412345678", "+861012345678901"] {
            #expect(PhoneNumber(input, defaultCountry: "GB")?.e164 == input)
            #expect(PhoneNumber.isE164(input))
        }
        for input in ["+1501712266a", "+0501712266", "+1234567", "+1234567890123456", "15017122661", "+1 501 712 2661"] {
            #expect(!PhoneNumber.isE164(input), "\(input)")
        }
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

@Suite("Fast paths agree with the general ones")
struct FastPathTests {
    @Test("ASCII normalization matches the Unicode path on 5,000 random ASCII strings")
    func asciiNormalization() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(0..<128).map { UInt8($0) }
        for _ in 0..<5_000 {
            let length = Int.random(in: 0..<24, using: &generator)
            let text = String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
            #expect(KeywordMatcher.normalizeASCII(text) == KeywordMatcher.normalizeUnicode(text), "\(Array(text.utf8))")
        }
        #expect(KeywordMatcher.normalize("  c!! ") == "C")
        #expect(KeywordMatcher.normalize("stop\t\tplease\u{7}") == "STOP PLEASE")
    }

    @Test("Local date and time fields match Calendar's across zones, eras and DST changes")
    func localTime() throws {
        for zoneID in ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"] {
            let zone = try #require(TimeZone(identifier: zoneID))
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            for _ in 0..<500 {
                let date = Date(timeIntervalSince1970: Double(Int64.random(in: 946_684_800...4_102_444_800)))
                let parts = calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute, .second], from: date)
                let local = CivilTime(date, in: zone)
                let ours: [Int] = [local.year, local.month, local.day, local.weekday + 1, local.hour, local.minute, local.second]
                let foundations: [Int] = [parts.year!, parts.month!, parts.day!, parts.weekday!, parts.hour!, parts.minute!, parts.second!]
                #expect(ours == foundations, "\(zoneID) \(date)")
            }
        }
    }
}
