import Foundation
import GRDB
import ReplylineCore
import ReplylineStore

extension AppDatabase {
    /// Up to `limit` of the business's appointments matching `filter`, by starts_at then id,
    /// after `cursor`; each with its pending messages.
    public func appointments(
        businessID: String, filter: AppointmentFilter, limit: Int, after cursor: AppointmentCursor?
    ) async throws -> [ListedAppointment] {
        try await read { db in
            let (sql, arguments) = Self.appointmentList(businessID: businessID, filter: filter, limit: limit, after: cursor)
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let pending = try Self.pendingMessages(db, appointmentIDs: rows.map { $0["id"] })
            return try rows.map { row in
                let appointment = try StoredAppointment(row: row)
                return ListedAppointment(
                    appointment: appointment, phone: row["contact_phone"], pendingMessages: pending[appointment.id] ?? [])
            }
        }
    }

    /// The list's query. Every filter is a term on appointments_by_business (business_id,
    /// starts_at, id), and the cursor a row value on its last two columns, so a page is one
    /// range of the index read in order, however deep: no sort, no rows skipped one by one.
    static func appointmentList(
        businessID: String, filter: AppointmentFilter, limit: Int, after cursor: AppointmentCursor?
    ) -> (sql: String, arguments: StatementArguments) {
        var conditions = ["appointments.business_id = ?"]
        var arguments: StatementArguments = [businessID]
        if !filter.states.isEmpty {
            conditions.append("appointments.state IN (\(Array(repeating: "?", count: filter.states.count).joined(separator: ", ")))")
            arguments += StatementArguments(filter.states.map(\.rawValue))
        }
        if let from = filter.from {
            conditions.append("appointments.starts_at >= ?")
            arguments += [from]
        }
        if let to = filter.to {
            conditions.append("appointments.starts_at < ?")
            arguments += [to]
        }
        if let cursor {
            conditions.append("(appointments.starts_at, appointments.id) > (?, ?)")
            arguments += [cursor.startsAt, cursor.id]
        }
        arguments += [limit]
        return (
            """
            SELECT appointments.*, contacts.phone AS contact_phone
            FROM appointments JOIN contacts ON contacts.id = appointments.contact_id
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY appointments.starts_at, appointments.id LIMIT ?
            """, arguments
        )
    }

    /// The pending outbox messages of these appointments, each list oldest due first. Through
    /// messages_by_appointment, whose terms are spelled out (see `cancelPendingMessages`).
    static func pendingMessages(_ db: Database, appointmentIDs: [String]) throws -> [String: [PendingAppointmentMessage]] {
        guard !appointmentIDs.isEmpty else { return [:] }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT messages.appointment_id, messages.id, messages.kind, outbox.due_at, outbox.last_error
                FROM messages JOIN outbox ON outbox.message_id = messages.id
                WHERE messages.appointment_id IN (\(Array(repeating: "?", count: appointmentIDs.count).joined(separator: ", ")))
                    AND messages.direction = 'outbound' AND messages.kind <> 'reply' AND outbox.state = 'pending'
                ORDER BY outbox.due_at, messages.id
                """, arguments: StatementArguments(appointmentIDs))
        var pending: [String: [PendingAppointmentMessage]] = [:]
        for row in rows {
            pending[row[0], default: []].append(
                PendingAppointmentMessage(messageID: row[1], kind: row[2], dueAt: try row.storedDate(atIndex: 3), heldReason: row[4]))
        }
        return pending
    }
}
