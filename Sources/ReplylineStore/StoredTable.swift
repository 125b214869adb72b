import Foundation

/// A table of the store, as every store lays it out (schema version 8), listed in the order a
/// copy writes them: each after the tables its rows refer to.
public enum StoredTable: String, CaseIterable, Sendable, CustomStringConvertible {
    case contacts
    case conversations
    case appointments
    case messages
    case consentEvents = "consent_events"
    case outbox
    case messageStatusEvents = "message_status_events"
    case heldStatusCallbacks = "held_status_callbacks"
    /// Staff accounts; their sessions and sign-in failures are not worth a copy.
    case staff
    case calls
    case callSMS = "call_sms"

    /// The table's name in SQL.
    public var description: String { rawValue }

    /// Every column, the id first; a row's values come in this order.
    public var columns: [StoredColumn] {
        switch self {
        case .contacts:
            [
                .integer("id"), .text("business_id"), .text("phone"), .text("name"), .text("consent"), .boolean("number_invalid"),
                .date("created_at"),
            ]
        case .conversations:
            [
                .integer("id"), .text("business_id"), .integer("contact_id"), .integer("unread_count"), .boolean("needs_reply"),
                .text("staff_flag"), .date("last_message_at"), .text("last_message_preview"), .date("last_unrecognized_reply_at"),
            ]
        case .appointments:
            [
                .text("id"), .text("business_id"), .integer("contact_id"), .text("customer_name"), .text("service"), .date("starts_at"),
                .integer("amount_cents"), .text("state"), .date("created_at"), .date("updated_at"),
            ]
        case .messages:
            [
                .integer("id"), .integer("conversation_id"), .text("direction"), .text("kind"), .text("provider"),
                .text("provider_message_id"), .text("from_number"), .text("to_number"), .text("body"), .text("media"),
                .integer("segments"), .text("encoding"), .text("status"), .text("error_code"), .text("error_message"), .text("intent"),
                .text("parameters"), .text("webhook_reply"), .integer("in_reply_to"), .text("appointment_id"), .date("created_at"),
                .date("sent_at"),
            ]
        case .consentEvents:
            [
                .integer("id"), .text("business_id"), .integer("contact_id"), .text("phone"), .text("from_state"), .text("to_state"),
                .text("source"), .text("message_id"), .date("created_at"),
            ]
        case .outbox:
            [
                .integer("id"), .integer("message_id"), .text("business_id"), .date("due_at"), .integer("attempts"), .text("last_error"),
                .text("state"), .date("appointment_starts_at"), .text("lease_owner"), .date("lease_expires_at"),
                .date("attempt_started_at"),
            ]
        case .messageStatusEvents:
            [
                .integer("id"), .integer("message_id"), .text("status"), .text("error_code"), .text("error_message"),
                .date("created_at"),
            ]
        case .heldStatusCallbacks:
            [
                .integer("id"), .text("provider"), .text("provider_message_id"), .text("status"), .text("error_code"),
                .text("error_message"), .date("received_at"), .text("account_sid"), .text("from_number"), .text("business_id"),
                .boolean("opts_out"),
            ]
        case .staff:
            [.text("id"), .text("business_id"), .text("email"), .text("password_hash"), .date("created_at")]
        case .calls:
            [
                .integer("id"), .text("business_id"), .text("call_id"), .text("agent"), .integer("contact_id"), .text("variables"),
                .date("ended_at"), .date("created_at"),
            ]
        case .callSMS:
            [
                .integer("id"), .integer("call_ref"), .text("key"), .text("action"), .text("kind"), .text("class"),
                .text("body"), .integer("message_id"), .text("refusal"), .date("created_at"),
            ]
        }
    }

    /// Whether the store numbers this table's rows itself (an identity or rowid), so that a
    /// copy must move the numbering past the ids it wrote. Appointments have ids of their own.
    public var hasGeneratedIDs: Bool { columns[0].type == .integer }
}

/// A column of a stored table and the kind of value it holds.
public struct StoredColumn: Sendable, Equatable {
    public enum ValueType: Sendable, Equatable {
        case integer, text, date, boolean
    }

    public var name: String
    public var type: ValueType

    static func integer(_ name: String) -> Self { Self(name: name, type: .integer) }
    static func text(_ name: String) -> Self { Self(name: name, type: .text) }
    static func date(_ name: String) -> Self { Self(name: name, type: .date) }
    static func boolean(_ name: String) -> Self { Self(name: name, type: .boolean) }
}

/// One column's value as every store holds it. A date is kept to the microsecond on
/// PostgreSQL and to the millisecond in SQLite, which is what a copy between them keeps.
public enum StoredValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case text(String)
    case date(Date)
    case boolean(Bool)

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .text(let value): value
        case .date(let value): Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(value)
        case .boolean(let value): String(value)
        }
    }
}

/// One row of a stored table: its values in the order of the table's `columns`.
public struct StoredRow: Sendable, Hashable {
    public var values: [StoredValue]

    public init(_ values: [StoredValue]) {
        self.values = values
    }

    /// The row's id, its first column.
    public var id: StoredValue { values[0] }
}
