import Foundation

/// A person at the front desk who signs in to a business's web inbox. The password is kept
/// only as a bcrypt hash; the email is kept lowercased and is unique across the deployment,
/// so the sign-in form needs no business field.
public struct StaffAccount: Sendable, Hashable {
    public var id: String
    public var businessID: String
    public var email: String
    public var passwordHash: String
    public var createdAt: Date

    public init(id: String, businessID: String, email: String, passwordHash: String, createdAt: Date) {
        self.id = id
        self.businessID = businessID
        self.email = email
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}

/// A signed-in browser: the account it belongs to and the token its forms must carry.
/// The store keys sessions by a hash of the cookie's token, so its rows cannot be replayed
/// as cookies.
public struct StaffSession: Sendable, Hashable {
    public var staff: StaffAccount
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeenAt: Date

    public init(staff: StaffAccount, csrfToken: String, createdAt: Date, lastSeenAt: Date) {
        self.staff = staff
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }
}

/// How long sessions live: ended after `idle` without a request, and after `absolute` in any case.
public struct SessionLifetime: Sendable, Hashable {
    public var idle: TimeInterval
    public var absolute: TimeInterval

    public init(idle: TimeInterval, absolute: TimeInterval) {
        self.idle = idle
        self.absolute = absolute
    }

    /// Eight idle hours, a front desk's shift; at most seven days.
    public static let standard = SessionLifetime(idle: 8 * 3600, absolute: 7 * 86400)

    /// A session's `lastSeenAt` is written at most this often, not on every request.
    public static let touchInterval: TimeInterval = 60
}

/// Why a staff account could not be added.
public enum StaffAccountError: Error, Sendable, Equatable, CustomStringConvertible {
    case emailTaken(String)

    public var description: String {
        switch self {
        case .emailTaken(let email):
            "a staff account with the email \(email) already exists; use `replyline staff reset-password` or another email"
        }
    }
}

extension StaffAccount {
    /// An email as stored and looked up: trimmed and lowercased.
    public static func normalizedEmail(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}

/// Sign-in attempts allowed: `failures` failed attempts per account and per address in
/// any `window`; past that, sign-in answers 429 until the oldest of them is `window` old.
public enum SignInLimit {
    public static let failures = 5
    public static let window: TimeInterval = 60

    /// How long `failures` (each key's times, oldest first) must wait at `now`; nil when none.
    public static func wait(_ failures: [String: [Date]], now: Date) -> TimeInterval? {
        let waits = failures.values.compactMap { times -> TimeInterval? in
            guard times.count >= Self.failures else { return nil }
            return times[times.count - Self.failures].addingTimeInterval(window).timeIntervalSince(now)
        }
        return waits.max().map { max($0, 1) }
    }
}
