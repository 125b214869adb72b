import Foundation
import GRDB
import ReplylineCore

/// Which of a business's appointments to list; nil and empty mean no limit on that side.
public struct AppointmentFilter: Sendable {
    /// Any of these states; empty for every state.
    public var states: [AppointmentState]
    /// `starts_at` at or after this time.
    public var from: Date?
    /// `starts_at` before this time (exclusive, so consecutive ranges never overlap).
    public var to: Date?

    public init(states: [AppointmentState] = [], from: Date? = nil, to: Date? = nil) {
        self.states = states
        self.from = from
        self.to = to
    }
}

/// Where a page of appointments ended: the next page starts after this one, in the list's
/// order (starts_at, then id), so paging never repeats or skips an appointment.
public struct AppointmentCursor: Sendable, Equatable {
    public var startsAt: Date
    public var id: String

    public init(startsAt: Date, id: String) {
        self.startsAt = startsAt
        self.id = id
    }
}

/// A message about an appointment that the outbox has yet to send: its confirmation
/// request or a reminder, when it is due and, once the outbox held it back, why.
public struct PendingAppointmentMessage: Sendable, Equatable {
    public var messageID: Int64
    public var kind: String
    public var dueAt: Date
    /// The outbox's note on its last try (quiet hours, cadence, a retry); nil until tried.
    public var heldReason: String?
}

/// An appointment as the list shows it.
public struct ListedAppointment: Sendable {
    public var appointment: StoredAppointment
    public var phone: String
    /// Oldest due first.
    public var pendingMessages: [PendingAppointmentMessage]
}

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
