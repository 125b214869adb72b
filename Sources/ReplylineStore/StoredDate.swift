import Foundation
import ReplylineCore

/// GRDB's stored form of a date, "yyyy-MM-dd HH:mm:ss.SSS" in UTC, written and read by
/// arithmetic.
///
/// GRDB formats dates through DateFormatter (ICU) and reads them through Calendar. Under
/// load formatting was 7% of the writer's time, for the seven dates each inbound message
/// stores, and reading a third of a thread page's row decoding. The hot paths use these
/// instead. The tests check both against GRDB's own: the text is the same byte for byte,
/// so stored values and the comparisons on them (`starts_at > ?`) stay exactly as before,
/// and a date read back is GRDB's to well under a microsecond.
enum StoredDate {
    static func text(_ date: Date) -> String {
        // As Foundation and ICU do: milliseconds since 1970, to the nearest.
        let milliseconds = Int64(((date.timeIntervalSinceReferenceDate + Date.timeIntervalBetween1970AndReferenceDate) * 1000).rounded())
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let millisecond = Int(milliseconds - seconds * 1000)
        let time = CivilTime(secondsSince1970: seconds)
        return String(unsafeUninitializedCapacity: 23) { buffer in
            func put(_ value: Int, _ width: Int, at start: Int) {
                var value = value
                for index in stride(from: start + width - 1, through: start, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(time.year, 4, at: 0)
            put(time.month, 2, at: 5)
            put(time.day, 2, at: 8)
            put(time.hour, 2, at: 11)
            put(time.minute, 2, at: 14)
            put(time.second, 2, at: 17)
            put(millisecond, 3, at: 20)
            buffer[4] = UInt8(ascii: "-")
            buffer[7] = UInt8(ascii: "-")
            buffer[10] = UInt8(ascii: " ")
            buffer[13] = UInt8(ascii: ":")
            buffer[16] = UInt8(ascii: ":")
            buffer[19] = UInt8(ascii: ".")
            return 23
        }
    }

    /// The date stored as `text` when it has exactly GRDB's form; nil for anything else
    /// (other forms GRDB accepts are left to GRDB).
    static func date(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
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
            let days = CivilTime.daysSince1970(year: year, month: month, day: day)
            let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second
            return Date(timeIntervalSinceReferenceDate: Double(seconds - 978_307_200) + Double(millisecond) / 1000)
        }
    }
}
