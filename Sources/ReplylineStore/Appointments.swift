import Foundation
import ReplylineCore

/// A new appointment as the API receives it, already validated.
public struct NewAppointment: Sendable {
    public var id: String
    public var phone: String
    public var customerName: String?
    public var service: String
    public var startsAt: Date
    public var amountCents: Int?

    public init(id: String, phone: String, customerName: String?, service: String, startsAt: Date, amountCents: Int?) {
        self.id = id
        self.phone = phone
        self.customerName = customerName
        self.service = service
        self.startsAt = startsAt
        self.amountCents = amountCents
    }
}

/// The texts an appointment sends, composed by the engine for its current details.
public struct AppointmentMessages: Sendable {
    public var confirmationRequest: String
    /// Each reminder's time and text (each rule's reply has its own), earliest first.
    public var reminders: [(time: Date, body: String)]

    public init(confirmationRequest: String, reminders: [(time: Date, body: String)]) {
        self.confirmationRequest = confirmationRequest
        self.reminders = reminders
    }
}

/// An appointment and what happened to its confirmation request.
public struct CreatedAppointment: Sendable {
    public var appointment: StoredAppointment
    /// The queued confirmation request; nil when the contact has opted out.
    public var confirmationMessageID: MessageID?

    public init(appointment: StoredAppointment, confirmationMessageID: MessageID? = nil) {
        self.appointment = appointment
        self.confirmationMessageID = confirmationMessageID
    }
}

/// Changes to an appointment; nil leaves a field as it is.
public struct AppointmentUpdate: Sendable {
    public var customerName: String?
    public var service: String?
    public var startsAt: Date?
    public var amountCents: Int?
    public var state: AppointmentState?

    public init(
        customerName: String? = nil, service: String? = nil, startsAt: Date? = nil, amountCents: Int? = nil, state: AppointmentState? = nil
    ) {
        self.customerName = customerName
        self.service = service
        self.startsAt = startsAt
        self.amountCents = amountCents
        self.state = state
    }
}

/// Why an appointment change was refused.
public enum AppointmentUpdateError: Error, Sendable, Equatable {
    case notFound
    case invalidTransition(from: AppointmentState, to: AppointmentState)
}

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
    public var messageID: MessageID
    public var kind: MessageKind
    public var dueAt: Date
    /// The outbox's note on its last try (quiet hours, cadence, a retry); nil until tried.
    public var heldReason: String?

    public init(messageID: MessageID, kind: MessageKind, dueAt: Date, heldReason: String? = nil) {
        self.messageID = messageID
        self.kind = kind
        self.dueAt = dueAt
        self.heldReason = heldReason
    }
}

/// An appointment as the list shows it.
public struct ListedAppointment: Sendable {
    public var appointment: StoredAppointment
    public var phone: String
    /// Oldest due first.
    public var pendingMessages: [PendingAppointmentMessage]

    public init(appointment: StoredAppointment, phone: String, pendingMessages: [PendingAppointmentMessage]) {
        self.appointment = appointment
        self.phone = phone
        self.pendingMessages = pendingMessages
    }
}

extension StoredAppointment {
    /// `update` applied to this appointment, except its new time: the state if the move is
    /// allowed (else `AppointmentUpdateError.invalidTransition`), name, service and amount.
    /// Returns whether the customer's name changed (the contact carries it too) and whether
    /// the time changes: a reschedule, allowed only while the appointment is open.
    public mutating func apply(_ update: AppointmentUpdate) throws -> (nameChanged: Bool, rescheduled: Bool) {
        if let state = update.state, state != self.state {
            guard self.state.canMove(to: state) else { throw AppointmentUpdateError.invalidTransition(from: self.state, to: state) }
            self.state = state
        }
        var nameChanged = false
        if let name = update.customerName, name != customerName {
            customerName = name
            nameChanged = true
        }
        if let service = update.service { self.service = service }
        if let cents = update.amountCents { amountCents = cents }
        guard let startsAt = update.startsAt, startsAt != self.startsAt else { return (nameChanged, false) }
        guard state.isOpen else { throw AppointmentUpdateError.invalidTransition(from: state, to: .awaitingReply) }
        self.startsAt = startsAt
        return (nameChanged, true)
    }
}
