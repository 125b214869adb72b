import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

/// GRDB's stored form of a date, "yyyy-MM-dd HH:mm:ss.SSS" in UTC, written and read by
/// arithmetic.
///
/// GRDB formats dates through DateFormatter (ICU) and reads them through Calendar. Under
/// load formatting was 7% of the writer's time, for the seven dates each inbound message
/// stores, and reading a third of a thread page's row decoding. The hot paths use these
/// instead. The tests check both against GRDB's own: the text is the same byte for byte,
/// so stored values and the comparisons on them (`starts_at > ?`) stay exactly as before,
/// and a date read back is GRDB's to well under a microsecond.
public enum StoredDate {
    static func text(_ date: Date) -> String {
        // As Foundation and ICU do: milliseconds since 1970, to the nearest.
        let milliseconds = Int64(((date.timeIntervalSinceReferenceDate + Date.timeIntervalBetween1970AndReferenceDate) * 1000).rounded())
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        var bytes: [UInt8] = []
        bytes.reserveCapacity(23)
        CivilTime(secondsSince1970: seconds).append(to: &bytes, separator: UInt8(ascii: " "))
        bytes.append(UInt8(ascii: "."))
        CivilTime.appendDigits(Int(milliseconds - seconds * 1000), width: 3, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The date stored as `text` when it has exactly GRDB's form; nil for anything else
    /// (other forms GRDB accepts are left to GRDB).
    static func date(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes in
            fields(bytes).map { fields in
                let days = CivilTime.daysSince1970(year: fields.year, month: fields.month, day: fields.day)
                let seconds = days * 86_400 + fields.hour * 3_600 + fields.minute * 60 + fields.second
                return Date(timeIntervalSinceReferenceDate: Double(seconds - 978_307_200) + Double(fields.millisecond) / 1000)
            }
        }
    }

    /// A stored date column's value: nil when NULL, by arithmetic in GRDB's stored form, by
    /// GRDB in any other it reads; an error when it is not a date.
    static func decode(_ value: DatabaseValue) throws -> Date? {
        if value.isNull { return nil }
        if case .string(let text) = value.storage, let date = date(text) { return date }
        guard let date = Date.fromDatabaseValue(value) else { throw StoredValueError("`\(value)` is not a date") }
        return date
    }

    private static func fields(
        _ bytes: UnsafeBufferPointer<UInt8>
    ) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int)? {
        guard bytes.count == 23, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: ".")
        else { return nil }
        func number(_ start: Int, _ width: Int) -> Int? {
            var value = 0
            for index in start..<start + width {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), let millisecond = number(20, 3),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        return (year, month, day, hour, minute, second, millisecond)
    }
}
