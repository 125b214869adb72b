import Foundation
import PostgresNIO
import ReplylineStore

extension StaffAccount {
    static let postgresColumns = "staff.id, staff.business_id, staff.email, staff.password_hash, staff.created_at"

    init(postgres row: PostgresRandomAccessRow) throws {
        self.init(
            id: try row.get(0), businessID: try row.get(1), email: try row.get(2), passwordHash: try row.get(3),
            createdAt: try row.get(4))
    }
}

extension PostgresStore {
    public func addStaff(_ account: StaffAccount) async throws {
        let added = try await write { connection in
            try await connection.row(
                """
                INSERT INTO staff (id, business_id, email, password_hash, created_at)
                VALUES (\(account.id), \(account.businessID), \(account.email), \(account.passwordHash), \(account.createdAt))
                ON CONFLICT (email) DO NOTHING RETURNING id
                """) != nil
        }
        if !added { throw StaffAccountError.emailTaken(account.email) }
    }

    public func staffAccount(email: String) async throws -> StaffAccount? {
        try await read { connection in
            try await connection.row("SELECT \(unescaped: StaffAccount.postgresColumns) FROM staff WHERE email = \(email)")
                .map { try StaffAccount(postgres: $0) }
        }
    }

    public func staffAccounts(businessID: String?) async throws -> [StaffAccount] {
        try await read { connection in
            let rows =
                if let businessID {
                    try await connection.rows(
                        "SELECT \(unescaped: StaffAccount.postgresColumns) FROM staff WHERE business_id = \(businessID) ORDER BY email")
                } else {
                    try await connection.rows("SELECT \(unescaped: StaffAccount.postgresColumns) FROM staff ORDER BY business_id, email")
                }
            return try rows.map { try StaffAccount(postgres: $0) }
        }
    }

    public func removeStaff(email: String) async throws -> Bool {
        try await write { connection in
            try await connection.run("DELETE FROM staff_sessions WHERE staff_id IN (SELECT id FROM staff WHERE email = \(email))")
            return try await connection.row("DELETE FROM staff WHERE email = \(email) RETURNING id") != nil
        }
    }

    public func setStaffPassword(email: String, passwordHash: String) async throws -> Bool {
        try await write { connection in
            try await connection.run("DELETE FROM staff_sessions WHERE staff_id IN (SELECT id FROM staff WHERE email = \(email))")
            return try await connection.row("UPDATE staff SET password_hash = \(passwordHash) WHERE email = \(email) RETURNING id") != nil
        }
    }

    public func createSession(tokenHash: String, staffID: String, csrfToken: String, lifetime: SessionLifetime, now: Date) async throws {
        let (idle, old) = (now.addingTimeInterval(-lifetime.idle), now.addingTimeInterval(-lifetime.absolute))
        try await write { connection in
            try await connection.run("DELETE FROM staff_sessions WHERE last_seen_at < \(idle) OR created_at < \(old)")
            try await connection.run(
                """
                INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, last_seen_at)
                VALUES (\(tokenHash), \(staffID), \(csrfToken), \(now), \(now))
                """)
        }
    }

    public func session(tokenHash: String, lifetime: SessionLifetime, now: Date) async throws -> StaffSession? {
        let found = try await read { connection in
            try await connection.row(
                """
                SELECT \(unescaped: StaffAccount.postgresColumns), staff_sessions.csrf_token, staff_sessions.created_at,
                    staff_sessions.last_seen_at
                FROM staff_sessions JOIN staff ON staff.id = staff_sessions.staff_id WHERE staff_sessions.token_hash = \(tokenHash)
                """
            ).map {
                StaffSession(
                    staff: try StaffAccount(postgres: $0), csrfToken: try $0.get(5), createdAt: try $0.get(6), lastSeenAt: try $0.get(7))
            }
        }
        guard var session = found else { return nil }
        if now.timeIntervalSince(session.lastSeenAt) > lifetime.idle || now.timeIntervalSince(session.createdAt) > lifetime.absolute {
            try await endSession(tokenHash: tokenHash)
            return nil
        }
        if now.timeIntervalSince(session.lastSeenAt) > SessionLifetime.touchInterval {
            try await write { connection in
                try await connection.run("UPDATE staff_sessions SET last_seen_at = \(now) WHERE token_hash = \(tokenHash)")
            }
            session.lastSeenAt = now
        }
        return session
    }

    public func endSession(tokenHash: String) async throws {
        try await write { connection in try await connection.run("DELETE FROM staff_sessions WHERE token_hash = \(tokenHash)") }
    }

    public func recordSignInFailure(keys: [String], now: Date) async throws {
        let forgotten = now.addingTimeInterval(-SignInLimit.window)
        try await write { connection in
            try await connection.run("DELETE FROM sign_in_failures WHERE at < \(forgotten)")
            for key in keys { try await connection.run("INSERT INTO sign_in_failures (key, at) VALUES (\(key), \(now))") }
        }
    }

    public func signInFailures(keys: [String], since: Date) async throws -> [String: [Date]] {
        try await read { connection in
            var failures: [String: [Date]] = [:]
            for row in try await connection.rows(
                "SELECT key, at FROM sign_in_failures WHERE key = ANY(\(keys)) AND at >= \(since) ORDER BY at")
            {
                failures[try row.get(0, as: String.self), default: []].append(try row.get(1))
            }
            return failures
        }
    }
}
