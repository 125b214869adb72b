import Foundation
import GRDB
import ReplylineStore

extension AppDatabase {
    public func outboundMessages(
        businessID: String, filter: OutboundFilter, limit: Int, before: MessageID?
    ) async throws -> [OutboundListing] {
        try await read { db in
            var sql = """
                SELECT messages.*, contacts.phone AS contact_phone, contacts.name AS contact_name
                FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                JOIN contacts ON contacts.id = conversations.contact_id
                WHERE conversations.business_id = ? AND messages.direction = 'outbound'
                """
            var arguments: StatementArguments = [businessID]
            if let statuses = filter.statuses {
                sql += " AND messages.status IN (\(statuses.map { _ in "?" }.joined(separator: ", ")))"
                arguments += StatementArguments(statuses.map(\.rawValue))
            }
            if let before {
                sql += " AND messages.id < ?"
                arguments += [before]
            }
            sql += " ORDER BY messages.id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                OutboundListing(message: try StoredMessage(row: row), phone: row["contact_phone"], name: row["contact_name"])
            }
        }
    }

    public func messageVolume(businessID: String, from start: Date, to end: Date) async throws -> [MessageVolume] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT CAST(strftime('%s', messages.created_at) AS INTEGER) / 900 AS quarter,
                        SUM(messages.direction = 'inbound'), SUM(messages.direction = 'outbound')
                    FROM messages JOIN conversations ON conversations.id = messages.conversation_id
                    WHERE conversations.business_id = ? AND messages.created_at >= ? AND messages.created_at < ?
                    GROUP BY quarter ORDER BY quarter
                    """, arguments: [businessID, start, end]
            ).map { row in
                MessageVolume(quarterHour: Date(timeIntervalSince1970: Double(row[0] as Int64) * 900), inbound: row[1], outbound: row[2])
            }
        }
    }
}
