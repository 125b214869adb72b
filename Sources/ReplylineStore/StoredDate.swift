import Foundation
import ReplylineCore

/// GRDB's stored form of a date, "yyyy-MM-dd HH:mm:ss.SSS" in UTC, written by arithmetic.
///
/// GRDB formats dates through DateFormatter (ICU). Under load that was 7% of the writer's
/// time, for the seven dates each inbound message stores; the webhook path binds this text
/// instead. Checked against GRDB's own encoding in the tests, so stored values and the
/// comparisons on them (`starts_at > ?`) stay exactly as before.
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
}
