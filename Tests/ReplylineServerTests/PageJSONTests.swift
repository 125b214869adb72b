import Foundation
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylineServer

/// The hand-written page writers must make exactly the bytes JSONEncoder makes of the same
/// `Encodable` values, for every field present or absent and every character class.
@Suite("Page JSON")
struct PageJSONTests {
    /// Every ASCII character, the control characters among them, and text beyond ASCII.
    static let texts = [
        String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self), "", "plain", "quote \" back \\ slash / done",
        "emoji 😊, 中文, é, \u{2028}\u{2029}, \u{FEFF}", "<Response>&amp;</Response>",
    ]

    static let moment = Date(timeIntervalSince1970: 1_796_000_000)

    static func message(_ index: Int, full: Bool) -> InboxController.MessageJSON {
        let text = texts[index % texts.count]
        let stored = StoredMessage(
            id: MessageID(Int64(index) + 1), conversationId: ConversationID(7), direction: index.isMultiple(of: 2) ? .inbound : .outbound,
            kind: full ? .confirmationRequest : .inbound, provider: "twilio", providerMessageId: full ? "SM\(index)" : nil,
            fromNumber: "+14155550100", toNumber: "+15017122661", body: text,
            media: full
                ? [.init(url: "https://example.com/a/\(index).jpg", contentType: "image/jpeg"), .init(url: text, contentType: nil)] : [],
            segments: index, encoding: index.isMultiple(of: 3) ? .ucs2 : .gsm7, status: full ? .undelivered : .received,
            errorCode: full ? "30003" : nil, errorMessage: full ? text : nil, inReplyTo: full ? MessageID(3) : nil,
            appointmentId: full ? "apt_\(text)" : nil, createdAt: moment.addingTimeInterval(Double(index) * 61.5))
        let history =
            full
            ? [
                StatusEvent(messageId: stored.id!, status: .queued, errorCode: nil, errorMessage: nil, createdAt: moment),
                StatusEvent(messageId: stored.id!, status: .failed, errorCode: "21610", errorMessage: text, createdAt: moment + 3),
            ] : []
        let hold = full ? MessageHold(until: moment + 3600, reason: index.isMultiple(of: 2) ? text : nil) : nil
        return InboxController.MessageJSON(stored, history: history, hold: hold)
    }

    static func encoded(_ value: some Encodable) throws -> String {
        String(decoding: try JSON.encoder.encode(value), as: UTF8.self)
    }

    static func written(_ page: some PageJSON) -> String {
        var json = JSONBytes(capacity: 0)
        page.write(to: &json)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    @Test("A thread page is written as JSONEncoder encodes it", arguments: [false, true])
    func messagePage(hasOlder: Bool) throws {
        let page = InboxController.MessagePage(
            messages: (0..<24).map { Self.message($0, full: $0 % 4 != 1) }, next_cursor: hasOlder ? "bTo0Mg" : nil)
        #expect(Self.written(page) == (try Self.encoded(page)))
        let empty = InboxController.MessagePage(messages: [], next_cursor: nil)
        #expect(Self.written(empty) == (try Self.encoded(empty)))
    }

    @Test("A conversation page is written as JSONEncoder encodes it", arguments: [false, true])
    func conversationPage(hasMore: Bool) throws {
        let conversations = (0..<12).map { index in
            let text = Self.texts[index % Self.texts.count]
            return InboxController.ConversationJSON(
                ConversationSummary(
                    id: ConversationID(Int64(index)), phone: "+1415555\(1000 + index)", name: index.isMultiple(of: 3) ? nil : text,
                    consent: index.isMultiple(of: 2) ? .optedIn : .optedOut, unreadCount: index * 7, needsReply: index.isMultiple(of: 2),
                    staffFlag: index.isMultiple(of: 5) ? text : nil, lastMessageAt: Self.moment - Double(index) * 3600,
                    lastMessagePreview: text))
        }
        let page = InboxController.ConversationPage(conversations: conversations, next_cursor: hasMore ? "Y3Vyc29y" : nil)
        #expect(Self.written(page) == (try Self.encoded(page)))
    }
}
