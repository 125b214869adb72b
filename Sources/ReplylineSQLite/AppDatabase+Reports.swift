import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension AppDatabase {
    public func usage(businessID: String, from start: Date, to end: Date) async throws -> UsageFigures {
        try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT
                        COUNT(CASE WHEN direction = 'outbound' AND sent_at >= :start AND sent_at < :end THEN 1 END) AS out_count,
                        COALESCE(SUM(CASE WHEN direction = 'outbound' AND sent_at >= :start AND sent_at < :end THEN segments END), 0) AS out_segments,
                        COUNT(CASE WHEN direction = 'inbound' AND created_at >= :start AND created_at < :end THEN 1 END) AS in_count,
                        COALESCE(SUM(CASE WHEN direction = 'inbound' AND created_at >= :start AND created_at < :end THEN segments END), 0) AS in_segments
                    FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                    WHERE conversations.business_id = :business
                    """, arguments: ["start": start, "end": end, "business": businessID])!
            return UsageFigures(
                outboundMessages: row["out_count"], outboundSegments: row["out_segments"], inboundMessages: row["in_count"],
                inboundSegments: row["in_segments"])
        }
    }

    public func deliverability(businessID: String, from start: Date, to end: Date) async throws -> DeliverabilityFigures {
        try await read { db in
            let arguments: StatementArguments = ["start": start, "end": end, "business": businessID]
            let sentFilter = """
                FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                WHERE conversations.business_id = :business AND messages.direction = 'outbound'
                AND messages.sent_at >= :start AND messages.sent_at < :end
                """
            let counts = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS sent,
                        COUNT(CASE WHEN status IN ('delivered', 'read') THEN 1 END) AS delivered,
                        COUNT(CASE WHEN status IN ('failed', 'undelivered') THEN 1 END) AS failed,
                        COUNT(DISTINCT conversation_id) AS contacts
                    \(sentFilter)
                    """, arguments: arguments)!
            let responded =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(DISTINCT first.conversation_id) FROM (
                            SELECT conversation_id, MIN(sent_at) AS first_sent \(sentFilter) GROUP BY conversation_id
                        ) AS first JOIN messages AS reply ON reply.conversation_id = first.conversation_id
                        WHERE reply.direction = 'inbound' AND reply.created_at > first.first_sent AND reply.created_at < :end
                        """, arguments: arguments) ?? 0
            let optedOut =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(DISTINCT consent_events.contact_id) FROM consent_events
                        JOIN conversations ON conversations.contact_id = consent_events.contact_id
                        WHERE consent_events.business_id = :business AND consent_events.to_state = 'opted_out'
                        AND consent_events.created_at >= :start AND consent_events.created_at < :end
                        AND conversations.id IN (SELECT conversation_id \(sentFilter))
                        """, arguments: arguments) ?? 0
            var codes: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT error_code, COUNT(*) AS n \(sentFilter) AND error_code IS NOT NULL GROUP BY error_code",
                arguments: arguments)
            {
                codes[row["error_code"]] = row["n"]
            }
            // Sends refused before reaching a handset (21610, 21211, ...) have no sent_at.
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT messages.error_code, COUNT(*) AS n FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                    WHERE conversations.business_id = :business AND messages.direction = 'outbound' AND messages.sent_at IS NULL
                    AND messages.error_code IS NOT NULL AND messages.created_at >= :start AND messages.created_at < :end
                    GROUP BY messages.error_code
                    """, arguments: arguments)
            {
                codes[row["error_code"], default: 0] += row["n"]
            }
            return DeliverabilityFigures(
                sent: counts["sent"], delivered: counts["delivered"], failed: counts["failed"], contactsMessaged: counts["contacts"],
                contactsResponded: responded, contactsOptedOut: optedOut, errorCodes: codes)
        }
    }
}

extension AppDatabase {
    /// The businesses that have contacts in this database, by id.
    public func businessIDs() async throws -> [String] {
        try await read { db in try String.fetchAll(db, sql: "SELECT DISTINCT business_id FROM contacts ORDER BY business_id") }
    }
}
