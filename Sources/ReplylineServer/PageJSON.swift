import Foundation
import ReplylineCore

/// The inbox's two hot pages (a thread's messages, the conversation list) written straight
/// into bytes: the same JSON that `JSON.encoder` makes of their `Encodable` types, byte for
/// byte (a test compares them), in a fifth of the time. JSONEncoder builds a tree of
/// values, sorts every object's keys and then writes it; for a 200-message thread that was
/// most of the request's CPU on either store (docs/performance.md). Keys are written here
/// already in the encoder's sorted order.
protocol PageJSON: Encodable {
    func write(to json: inout JSONBytes)
}

/// An object being written: each `field` adds its key, in the order given, and leaves out
/// nil values as `encodeIfPresent` does.
struct JSONBytes {
    var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func object(_ body: (inout JSONBytes) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func array<Element>(_ elements: [Element], _ write: (Element, inout JSONBytes) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for element in elements { write(element, &self) }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    mutating func field(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        Self.appendString(value, to: &bytes)
        needsComma = true
    }

    mutating func field(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    mutating func field(_ name: StaticString, _ value: Date?) {
        guard let value else { return }
        key(name)
        bytes.append(UInt8(ascii: "\""))
        RFC3339.append(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// `text` quoted and escaped as JSONEncoder escapes it (slashes left alone): `"`, `\`,
    /// and the control characters, five of them by letter and the rest as `\u00XX`.
    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count where utf8[index] < 0x20 || utf8[index] == 0x22 || utf8[index] == 0x5C {
                let byte = utf8[index]
                bytes.append(contentsOf: utf8[start..<index])
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case 0x22, 0x5C: bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                default: bytes += [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
                }
                start = index + 1
            }
            bytes.append(contentsOf: utf8[start...])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}

extension InboxController.MessagePage: PageJSON {
    func write(to json: inout JSONBytes) {
        json.object { json in
            json.key("messages")
            json.array(messages) { message, json in message.write(to: &json) }
            json.field("next_cursor", next_cursor)
        }
    }
}

extension InboxController.MessageJSON {
    func write(to json: inout JSONBytes) {
        json.object { json in
            json.field("appointment_id", appointment_id)
            json.field("body", body)
            json.field("created_at", created_at)
            json.field("direction", direction.rawValue)
            json.field("encoding", encoding)
            json.field("error_code", error_code)
            json.field("error_message", error_message)
            json.field("held_reason", held_reason)
            json.field("id", id.rawValue)
            json.field("in_reply_to", in_reply_to?.rawValue)
            json.field("kind", kind.rawValue)
            json.key("media")
            json.array(media) { item, json in
                json.object { json in
                    json.field("content_type", item.content_type)
                    json.field("url", item.url)
                }
            }
            json.field("provider_message_id", provider_message_id)
            json.field("scheduled_for", scheduled_for)
            json.field("segments", Int64(segments))
            json.field("status", status.rawValue)
            json.key("status_history")
            json.array(status_history) { event, json in
                json.object { json in
                    json.field("at", event.at)
                    json.field("error_code", event.error_code)
                    json.field("error_message", event.error_message)
                    json.field("status", event.status.rawValue)
                }
            }
        }
    }
}

extension InboxController.ConversationPage: PageJSON {
    func write(to json: inout JSONBytes) {
        json.object { json in
            json.key("conversations")
            json.array(conversations) { conversation, json in
                json.object { json in
                    json.field("consent", conversation.consent)
                    json.field("last_message_at", conversation.last_message_at)
                    json.field("last_message_preview", conversation.last_message_preview)
                    json.field("name", conversation.name)
                    json.field("needs_reply", conversation.needs_reply)
                    json.field("phone", conversation.phone)
                    json.field("staff_flag", conversation.staff_flag)
                    json.field("unread_count", Int64(conversation.unread_count))
                }
            }
            json.field("next_cursor", next_cursor)
        }
    }
}
