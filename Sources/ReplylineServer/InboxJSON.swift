import Foundation
import Hummingbird
import ReplylineCore

/// The inbox's two biggest answers, the thread page and the conversation list, written by
/// hand: JSONEncoder was most of a 200-message page's time. Keys are written in sorted
/// order and absent optionals left out, as `JSON.encoder` does; a test parses both
/// encodings of the same pages and requires them equal.
struct JSONText {
    var bytes: [UInt8] = []

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Starts a member: a comma unless it is the first of its object or array.
    mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
    }

    mutating func separate() {
        if let last = bytes.last, last != UInt8(ascii: "{"), last != UInt8(ascii: "[") { bytes.append(UInt8(ascii: ",")) }
    }

    mutating func string(_ value: String) { JSONString.append(value, to: &bytes) }
    mutating func number(_ value: some BinaryInteger) { bytes.append(contentsOf: String(value).utf8) }
    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }
    mutating func date(_ value: Date) {
        bytes.append(UInt8(ascii: "\""))
        RFC3339.append(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    mutating func number(_ name: StaticString, _ value: (some BinaryInteger)?) {
        guard let value else { return }
        key(name)
        number(value)
    }

    /// `"<name>":[item,...]`, each item written by `write`.
    mutating func array<Item>(_ name: StaticString, _ items: [Item], _ write: (Item, inout JSONText) -> Void) {
        key(name)
        raw("[")
        for item in items {
            separate()
            write(item, &self)
        }
        raw("]")
    }

    var response: Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

extension JSONText {
    /// `{"<name>": [item, ...], "next_cursor": ...}`: a page of the API.
    static func page<Item>(
        _ name: StaticString, _ items: [Item], nextCursor: String?, bytesPerItem: Int, write: (Item, inout JSONText) -> Void
    ) -> JSONText {
        var json = JSONText()
        json.bytes.reserveCapacity(items.count * bytesPerItem + 64)
        json.raw("{")
        json.array(name, items, write)
        json.string("next_cursor", nextCursor)
        json.raw("}")
        return json
    }
}

extension InboxController.MessagePage {
    func json() -> JSONText {
        .page("messages", messages, nextCursor: next_cursor, bytesPerItem: 400) { message, json in message.write(to: &json) }
    }
}

extension InboxController.MessageJSON {
    func write(to json: inout JSONText) {
        json.raw("{")
        json.string("appointment_id", appointment_id)
        json.string("body", body)
        json.key("created_at")
        json.date(created_at)
        json.string("direction", direction)
        json.string("encoding", encoding)
        json.string("error_code", error_code)
        json.string("error_message", error_message)
        json.number("id", id)
        json.number("in_reply_to", in_reply_to)
        json.string("kind", kind)
        json.array("media", media) { item, json in
            json.raw("{")
            json.string("content_type", item.content_type)
            json.string("url", item.url)
            json.raw("}")
        }
        json.string("provider_message_id", provider_message_id)
        json.number("segments", segments)
        json.string("status", status)
        json.array("status_history", status_history) { event, json in
            json.raw("{")
            json.key("at")
            json.date(event.at)
            json.string("error_code", event.error_code)
            json.string("error_message", event.error_message)
            json.string("status", event.status)
            json.raw("}")
        }
        json.raw("}")
    }
}

extension InboxController.ConversationPage {
    func json() -> JSONText {
        .page("conversations", conversations, nextCursor: next_cursor, bytesPerItem: 250) { conversation, json in
            json.raw("{")
            json.string("consent", conversation.consent)
            json.key("last_message_at")
            json.date(conversation.last_message_at)
            json.string("last_message_preview", conversation.last_message_preview)
            json.string("name", conversation.name)
            json.key("needs_reply")
            json.bool(conversation.needs_reply)
            json.string("phone", conversation.phone)
            json.string("staff_flag", conversation.staff_flag)
            json.number("unread_count", conversation.unread_count)
            json.raw("}")
        }
    }
}
