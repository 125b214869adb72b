import Foundation
import PostgresNIO
import ReplylineStore

extension PostgresStore {
    public func usage(businessID: String, from start: Date, to end: Date) async throws -> UsageFigures {
        try await read { connection in
            guard
                let row = try await connection.row(
                    """
                    SELECT
                        COUNT(*) FILTER (WHERE direction = 'outbound' AND sent_at >= \(start) AND sent_at < \(end)),
                        COALESCE(SUM(segments) FILTER (WHERE direction = 'outbound' AND sent_at >= \(start) AND sent_at < \(end)), 0)::bigint,
                        COUNT(*) FILTER (WHERE direction = 'inbound' AND created_at >= \(start) AND created_at < \(end)),
                        COALESCE(SUM(segments) FILTER (WHERE direction = 'inbound' AND created_at >= \(start) AND created_at < \(end)), 0)::bigint
                    FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                    WHERE conversations.business_id = \(businessID)
                    """)
            else { throw StoredValueError("the usage query returned no row") }
            return UsageFigures(
                outboundMessages: try row.get(0), outboundSegments: try row.get(1), inboundMessages: try row.get(2),
                inboundSegments: try row.get(3))
        }
    }

    public func deliverability(businessID: String, from start: Date, to end: Date) async throws -> DeliverabilityFigures {
        try await read { connection in
            // The business's outbound messages sent in [start, end).
            let sent = """
                SELECT messages.* FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                WHERE conversations.business_id = $1 AND messages.direction = 'outbound' AND messages.sent_at >= $2 AND messages.sent_at < $3
                """
            func query(_ sql: String) -> PostgresQuery {
                var bindings = PostgresBindings()
                bindings.append(businessID, context: .default)
                bindings.append(start, context: .default)
                bindings.append(end, context: .default)
                return PostgresQuery(unsafeSQL: "WITH sent AS (\(sent)) " + sql, binds: bindings)
            }
            guard
                let counts = try await connection.row(
                    query(
                        """
                        SELECT COUNT(*), COUNT(*) FILTER (WHERE status IN ('delivered', 'read')),
                            COUNT(*) FILTER (WHERE status IN ('failed', 'undelivered')), COUNT(DISTINCT conversation_id)
                        FROM sent
                        """))
            else { throw StoredValueError("the deliverability query returned no row") }
            let responded =
                try await connection.row(
                    query(
                        """
                        SELECT COUNT(DISTINCT first.conversation_id) FROM (
                            SELECT conversation_id, MIN(sent_at) AS first_sent FROM sent GROUP BY conversation_id
                        ) AS first JOIN messages AS reply ON reply.conversation_id = first.conversation_id
                        WHERE reply.direction = 'inbound' AND reply.created_at > first.first_sent AND reply.created_at < $3
                        """))?.get(0, as: Int.self) ?? 0
            let optedOut =
                try await connection.row(
                    query(
                        """
                        SELECT COUNT(DISTINCT consent_events.contact_id) FROM consent_events
                        JOIN conversations ON conversations.contact_id = consent_events.contact_id
                        WHERE consent_events.business_id = $1 AND consent_events.to_state = 'opted_out'
                        AND consent_events.created_at >= $2 AND consent_events.created_at < $3
                        AND conversations.id IN (SELECT conversation_id FROM sent)
                        """))?.get(0, as: Int.self) ?? 0
            var codes: [String: Int] = [:]
            // Sends refused before reaching a handset (21610, 21211, ...) have no sent_at.
            for row in try await connection.rows(
                query(
                    """
                    SELECT error_code, COUNT(*) FROM sent WHERE error_code IS NOT NULL GROUP BY error_code
                    UNION ALL
                    SELECT messages.error_code, COUNT(*) FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                    WHERE conversations.business_id = $1 AND messages.direction = 'outbound' AND messages.sent_at IS NULL
                    AND messages.error_code IS NOT NULL AND messages.created_at >= $2 AND messages.created_at < $3
                    GROUP BY messages.error_code
                    """))
            {
                codes[try row.get(0), default: 0] += try row.get(1, as: Int.self)
            }
            return DeliverabilityFigures(
                sent: try counts.get(0), delivered: try counts.get(1), failed: try counts.get(2), contactsMessaged: try counts.get(3),
                contactsResponded: responded, contactsOptedOut: optedOut, errorCodes: codes)
        }
    }
}
