import Foundation
import ReplylineStore

/// The ledger as RFC 4180 CSV. Written by hand: it is a dozen lines, and the CSV packages
/// on offer are readers.
public enum ConsentCSV {
    public static let header = ["business_id", "phone", "from_state", "to_state", "source", "message_id", "at"]

    public static func render(_ events: [StoredConsentEvent]) -> String {
        var out = header.joined(separator: ",") + "\r\n"
        for event in events {
            let fields = [
                event.businessId, event.phone, event.fromState.rawValue, event.toState.rawValue, event.source.rawValue,
                event.messageId ?? "",
                event.createdAt.formatted(Date.ISO8601FormatStyle()),
            ]
            out += fields.map(escape).joined(separator: ",") + "\r\n"
        }
        return out
    }

    static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
