import Foundation
import ReplylineServer
import Testing

/// `replyline replay` on a file that is not a fixture names the file and what is wrong.
@Suite("Fixture files")
struct FixtureFileTests {
    @Test(
        "A file that is not a fixture is refused with its name and the problem, not a raw DecodingError",
        arguments: [
            ("business:\n  name: x\n", "not valid JSON; expected a JSON object with `steps`"),
            (#"{"description": "x"}"#, "`steps` is missing"),
            (#"{"description": "x", "steps": [{"request": 1}]}"#, "`steps[0].request` should be an object"),
            (#"{"description": "x", "steps": {}}"#, "`steps` should be a list"),
        ])
    func notAFixture(text: String, problem: String) throws {
        let folder = try TemporaryDirectory()
        let file = folder.url.appendingPathComponent("odd.json")
        try text.write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try Fixture.load(file)
            Issue.record("accepted: \(text)")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix("\(file.path): not a replyline fixture: "), "\(message)")
            #expect(message.contains(problem), "\(message)")
            #expect(!message.contains("DecodingError"))
        }
    }

    @Test("A missing file says what to pass")
    func missing() {
        #expect(throws: FixtureError.self) { try Fixture.load(URL(fileURLWithPath: "/nonexistent/fixture.json")) }
    }
}
