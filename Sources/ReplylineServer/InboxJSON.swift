import Foundation
import Hummingbird
import ReplylineCore
import ReplylineStore

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
    /// Digits written right to left on the stack and appended at once: `String(value)`
    /// allocated for every id and count.
    mutating func number(_ value: some BinaryInteger) {
        var magnitude = UInt64(value.magnitude)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var first = digits.count
            repeat {
                first -= 1
                digits[first] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[first...]))
        }
    }
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
    mutating func array<Items: Collection>(_ name: StaticString, _ items: Items, _ write: (Items.Element, inout JSONText) -> Void) {
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

extension JSONText {
    /// A thread page (openapi.json's `MessagePage`: `messages`, each an
    /// `InboxController.MessageJSON`, and `next_cursor`), written from the rows as SQLite
    /// holds them: no String, Date or record per column. `InboxJSONTests` checks it against
    /// JSONEncoder's encoding of the same page built from `StoredMessage`s.
    static func threadPage(_ rows: inout ThreadPageRows) throws -> JSONText {
        var json = JSONText()
        json.bytes.reserveCapacity(64 * 1024)
        json.raw("{")
        json.key("messages")
        json.raw("[")
        var oldest: Int64?
        while try rows.next() {
            json.separate()
            oldest = oldest ?? rows.integer(.id)
            try json.message(rows)
        }
        json.raw("]")
        if rows.hasOlder, let oldest { json.string("next_cursor", Cursor.encode(messageID: oldest)) }
        json.raw("}")
        return json
    }

    /// One `InboxController.MessageJSON`, keys sorted, absent values left out. Each key is
    /// written with the comma before it: `body`, never NULL, always follows the only
    /// member that can come first.
    mutating func message(_ row: borrowing ThreadPageRows) throws {
        if let appointment = row.text(.appointmentID) {
            raw("{\"appointment_id\":")
            JSONString.append(utf8: appointment, to: &bytes)
            raw(",\"body\":")
        } else {
            raw("{\"body\":")
        }
        JSONString.append(utf8: row.text(.body) ?? UnsafeBufferPointer(start: nil, count: 0), to: &bytes)
        raw(",\"created_at\":")
        try storedDate(row, .createdAt)
        member(",\"direction\":", row.text(.direction))
        member(",\"encoding\":", row.text(.encoding))
        member(",\"error_code\":", row.text(.errorCode))
        member(",\"error_message\":", row.text(.errorMessage))
        member(",\"held_reason\":", row.text(.heldReason))
        if let id = row.integer(.id) {
            raw(",\"id\":")
            number(id)
        }
        if let inReplyTo = row.integer(.inReplyTo) {
            raw(",\"in_reply_to\":")
            number(inReplyTo)
        }
        member(",\"kind\":", row.text(.kind))
        let media = row.text(.media).flatMap { $0.elementsEqual("[]".utf8) ? nil : String(decoding: $0, as: UTF8.self) }
        array("media", media.map(StoredMessage.decodeMedia) ?? []) { item, json in
            json.raw("{")
            json.string("content_type", item.contentType)
            json.string("url", item.url)
            json.raw("}")
        }
        member(",\"provider_message_id\":", row.text(.providerMessageID))
        if row.text(.scheduledFor) != nil {
            raw(",\"scheduled_for\":")
            try storedDate(row, .scheduledFor)
        }
        if let segments = row.integer(.segments) {
            raw(",\"segments\":")
            number(segments)
        }
        member(",\"status\":", row.text(.status))
        array("status_history", row.currentHistory) { event, json in
            json.raw("{")
            json.key("at")
            json.date(event.createdAt)
            json.string("error_code", event.errorCode)
            json.string("error_message", event.errorMessage)
            json.string("status", event.status)
            json.raw("}")
        }
        raw("}")
    }

    /// `prefix` (a comma and a quoted key with its colon) and the value, when there is one.
    mutating func member(_ prefix: StaticString, _ value: UnsafeBufferPointer<UInt8>?) {
        guard let value else { return }
        raw(prefix)
        JSONString.append(utf8: value, to: &bytes)
    }

    /// A stored date as RFC 3339 in UTC: GRDB's `2026-11-25 15:00:00.123` becomes
    /// `"2026-11-25T15:00:00Z"` by moving bytes, as `date(_:)` would write the same moment;
    /// any other stored form goes through Date.
    mutating func storedDate(_ row: borrowing ThreadPageRows, _ column: ThreadPageRows.Column) throws {
        if let text = row.text(column), StoredDate.hasStoredForm(text) {
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: text[0..<10])
            bytes.append(UInt8(ascii: "T"))
            bytes.append(contentsOf: text[11..<19])
            raw("Z\"")
        } else {
            guard let stored = try row.date(column) else { throw StoredValueError("a message's \(column) is missing") }
            date(stored)
        }
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
