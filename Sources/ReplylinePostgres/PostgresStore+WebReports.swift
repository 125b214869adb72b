import Foundation
import PostgresNIO
import ReplylineStore

extension PostgresStore {
    public func outboundMessages(
        businessID: String, filter: OutboundFilter, limit: Int, before: MessageID?
    ) async throws -> [OutboundListing] {
        var query: PostgresQuery = """
            SELECT \(unescaped: StoredMessage.columns(full: false)), contacts.phone, contacts.name
            FROM messages JOIN conversations ON conversations.id = messages.conversation_id
            JOIN contacts ON contacts.id = conversations.contact_id
            WHERE conversations.business_id = \(businessID) AND messages.direction = 'outbound'
            """
        if let statuses = filter.statuses {
            let bound = query.bind(statuses.map(\.rawValue))
            query.sql += " AND messages.status = ANY(\(bound))"
        }
        if let before {
            let bound = query.bind(before.rawValue)
            query.sql += " AND messages.id < \(bound)"
        }
        let bound = query.bind(limit)
        query.sql += " ORDER BY messages.id DESC LIMIT \(bound)"
        let columns = StoredMessage.columnCount
        return try await read { [query] connection in
            try await connection.rows(query).map { row in
                OutboundListing(message: try StoredMessage(postgres: row), phone: try row.get(columns), name: try row.get(columns + 1))
            }
        }
    }

    public func messageVolume(businessID: String, from start: Date, to end: Date) async throws -> [MessageVolume] {
        try await read { connection in
            try await connection.rows(
                """
                SELECT (floor(extract(epoch FROM messages.created_at) / 900))::bigint AS quarter,
                    COUNT(*) FILTER (WHERE messages.direction = 'inbound'), COUNT(*) FILTER (WHERE messages.direction = 'outbound')
                FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                WHERE conversations.business_id = \(businessID) AND messages.created_at >= \(start) AND messages.created_at < \(end)
                GROUP BY quarter ORDER BY quarter
                """
            ).map { row in
                MessageVolume(
                    quarterHour: Date(timeIntervalSince1970: Double(try row.get(0, as: Int64.self)) * 900), inbound: try row.get(1),
                    outbound: try row.get(2))
            }
        }
    }
}
