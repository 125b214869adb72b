import Foundation

/// Where an appointment stands. Replies move it between the first five; `completed` and
/// `no_show` are set by staff through the API.
public enum AppointmentState: String, Sendable, Codable, CaseIterable, Hashable {
    case scheduled
    case awaitingReply = "awaiting_reply"
    case confirmed
    case rescheduleRequested = "reschedule_requested"
    case cancelled
    case completed
    case noShow = "no_show"

    /// States a customer's keyword can still change.
    public var isOpen: Bool {
        switch self {
        case .scheduled, .awaitingReply, .confirmed, .rescheduleRequested: true
        case .cancelled, .completed, .noShow: false
        }
    }

    /// Whether a reply or the API may move an appointment from this state to `next`.
    /// Cancelled, completed and no-show are final; nothing goes back to `scheduled`
    /// (a new confirmation request moves an open appointment to `awaiting_reply`).
    public func canMove(to next: AppointmentState) -> Bool {
        isOpen && next != self && next != .scheduled
    }
}

/// An appointment as the engine sees it: enough to pick it, name it and move its state.
public struct Appointment: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var customerName: String?
    public var service: String
    public var startsAt: Date
    /// The price in minor units (cents), if the business gave one.
    public var amountCents: Int?
    public var state: AppointmentState

    public init(
        id: String, customerName: String? = nil, service: String, startsAt: Date,
        amountCents: Int? = nil, state: AppointmentState
    ) {
        self.id = id
        self.customerName = customerName
        self.service = service
        self.startsAt = startsAt
        self.amountCents = amountCents
        self.state = state
    }
}

/// A state change the engine decided for one appointment.
public struct AppointmentChange: Sendable, Hashable {
    public var appointmentID: String
    public var from: AppointmentState
    public var to: AppointmentState

    public init(appointmentID: String, from: AppointmentState, to: AppointmentState) {
        self.appointmentID = appointmentID
        self.from = from
        self.to = to
    }
}
