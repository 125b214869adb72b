import Foundation
import Hummingbird
import ReplylineStore

/// The inbox's two biggest answers, the thread page and the conversation list, written by
/// hand: JSONEncoder was most of a 200-message page's time. Keys are written in sorted
/// order and absent optionals left out, as `JSON.encoder` does; a test parses both
/// encodings of the same pages and requires them equal.
struct JSONText {
    var text = ""

    /// Starts a member: a comma unless it is the first of its object or array.
    mutating func key(_ name: String) {
        separate()
        text += "\""
        text += name
        text += "\":"
    }

    mutating func separate() {
        if let last = text.utf8.last, last != UInt8(ascii: "{"), last != UInt8(ascii: "[") { text += "," }
    }

    mutating func string(_ value: String) { StoredMessage.appendJSONString(value, to: &text) }
    mutating func number(_ value: some BinaryInteger) { text += String(value) }
    mutating func bool(_ value: Bool) { text += value ? "true" : "false" }
    mutating func date(_ value: Date) { string(RFC3339.string(from: value)) }

    mutating func string(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    mutating func number(_ name: String, _ value: (some BinaryInteger)?) {
        guard let value else { return }
        key(name)
        number(value)
    }

    var response: Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

extension InboxController.MessagePage {
    func json() -> JSONText {
        var json = JSONText()
        json.text.reserveCapacity(messages.count * 400 + 64)
        json.text += "{"
        json.key("messages")
        json.text += "["
        for message in messages {
            json.separate()
            message.write(to: &json)
        }
        json.text += "]"
        json.string("next_cursor", next_cursor)
        json.text += "}"
        return json
    }
}

extension InboxController.MessageJSON {
    func write(to json: inout JSONText) {
        json.text += "{"
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
        json.key("media")
        json.text += "["
        for item in media {
            json.separate()
            json.text += "{"
            json.string("content_type", item.content_type)
            json.string("url", item.url)
            json.text += "}"
        }
        json.text += "]"
        json.string("provider_message_id", provider_message_id)
        json.number("segments", segments)
        json.string("status", status)
        json.key("status_history")
        json.text += "["
        for event in status_history {
            json.separate()
            json.text += "{"
            json.key("at")
            json.date(event.at)
            json.string("error_code", event.error_code)
            json.string("error_message", event.error_message)
            json.string("status", event.status)
            json.text += "}"
        }
        json.text += "]}"
    }
}

extension InboxController.ConversationPage {
    func json() -> JSONText {
        var json = JSONText()
        json.text.reserveCapacity(conversations.count * 250 + 64)
        json.text += "{"
        json.key("conversations")
        json.text += "["
        for conversation in conversations {
            json.separate()
            json.text += "{"
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
            json.text += "}"
        }
        json.text += "]"
        json.string("next_cursor", next_cursor)
        json.text += "}"
        return json
    }
}
