import Testing

@testable import ReplylineProviders

@Suite("Form body")
struct FormBodyTests {
    @Test("Pairs keep their order, repeats, + as space and percent-escapes")
    func decodes() throws {
        let form = try FormBody.decode("Body=Hi+there%21&Tag=b&Tag=a&Empty=&Flag&From=%2B14155550100")
        #expect(form.pairs.map(\.name) == ["Body", "Tag", "Tag", "Empty", "Flag", "From"])
        #expect(form.pairs.map(\.value) == ["Hi there!", "b", "a", "", "", "+14155550100"])
        #expect(form["Tag"] == "b")
    }

    @Test(
        "UTF-8 escapes decode to text",
        arguments: [("%E6%88%91", "我"), ("%F0%9F%91%8D", "👍"), ("caf%C3%A9", "café"), ("a%2Bb", "a+b"), ("%25", "%")])
    func utf8(encoded: String, text: String) throws {
        #expect(try FormBody.decode("Body=\(encoded)")["Body"] == text)
    }

    @Test("Empty pieces between ampersands are skipped")
    func emptyPieces() throws {
        #expect(try FormBody.decode("&&A=1&&B=2&").pairs.count == 2)
        #expect(try FormBody.decode("").pairs.isEmpty)
    }

    @Test("Broken percent-escapes are refused", arguments: ["Body=50%zz", "Body=%", "Body=%4", "Body=ok&%G1=x"])
    func brokenEscapes(body: String) {
        #expect(throws: WebhookError.self) { try FormBody.decode(body) }
        do {
            _ = try FormBody.decode(body)
        } catch {
            guard case .malformedForm = error else {
                Issue.record("expected malformedForm, got \(error)")
                return
            }
        }
    }

    @Test(
        "Invalid UTF-8, escaped or raw, is refused",
        arguments: [[UInt8]("Body=%FF%FE".utf8), [UInt8]("Body=%C3".utf8), [0x42, 0x3D, 0xFF]])
    func invalidUTF8(bytes: [UInt8]) {
        do {
            _ = try FormBody.decode(bytes)
            Issue.record("accepted invalid UTF-8")
        } catch {
            guard case .invalidUTF8 = error else {
                Issue.record("expected invalidUTF8, got \(error)")
                return
            }
        }
    }

    @Test("A pair with an empty name is refused")
    func emptyName() {
        #expect(throws: WebhookError.self) { try FormBody.decode("=value") }
    }
}
