import Foundation
import GRDB
import ReplylineStore

extension StaffAccount {
    static let columns = "staff.id, staff.business_id, staff.email, staff.password_hash, staff.created_at"

    init(sqlite row: Row, from index: Int = 0) throws {
        self.init(
            id: row[index], businessID: row[index + 1], email: row[index + 2], passwordHash: row[index + 3],
            createdAt: try row.storedDate(atIndex: index + 4))
    }
}

extension AppDatabase {
    public func addStaff(_ account: StaffAccount) async throws {
        try await write { db in
            do {
                try db.execute(
                    sql: "INSERT INTO staff (id, business_id, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [account.id, account.businessID, account.email, account.passwordHash, account.createdAt])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StaffAccountError.emailTaken(account.email)
            }
        }
    }

    public func staffAccount(email: String) async throws -> StaffAccount? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT \(StaffAccount.columns) FROM staff WHERE email = ?", arguments: [email])
                .map { try StaffAccount(sqlite: $0) }
        }
    }

    public func staffAccounts(businessID: String?) async throws -> [StaffAccount] {
        try await read { db in
            let rows =
                if let businessID {
                    try Row.fetchAll(
                        db, sql: "SELECT \(StaffAccount.columns) FROM staff WHERE business_id = ? ORDER BY email", arguments: [businessID])
                } else {
                    try Row.fetchAll(db, sql: "SELECT \(StaffAccount.columns) FROM staff ORDER BY business_id, email")
                }
            return try rows.map { try StaffAccount(sqlite: $0) }
        }
    }

    public func removeStaff(email: String) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM staff_sessions WHERE staff_id IN (SELECT id FROM staff WHERE email = ?)", arguments: [email])
            try db.execute(sql: "DELETE FROM staff WHERE email = ?", arguments: [email])
            return db.changesCount > 0
        }
    }

    public func setStaffPassword(email: String, passwordHash: String) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM staff_sessions WHERE staff_id IN (SELECT id FROM staff WHERE email = ?)", arguments: [email])
            try db.execute(sql: "UPDATE staff SET password_hash = ? WHERE email = ?", arguments: [passwordHash, email])
            return db.changesCount > 0
        }
    }

    public func createSession(tokenHash: String, staffID: String, csrfToken: String, lifetime: SessionLifetime, now: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM staff_sessions WHERE last_seen_at < ? OR created_at < ?",
                arguments: [now.addingTimeInterval(-lifetime.idle), now.addingTimeInterval(-lifetime.absolute)])
            try db.execute(
                sql: "INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [tokenHash, staffID, csrfToken, now, now])
        }
    }

    public func session(tokenHash: String, lifetime: SessionLifetime, now: Date) async throws -> StaffSession? {
        let found = try await read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT \(StaffAccount.columns), staff_sessions.csrf_token, staff_sessions.created_at, staff_sessions.last_seen_at
                    FROM staff_sessions JOIN staff ON staff.id = staff_sessions.staff_id WHERE staff_sessions.token_hash = ?
                    """, arguments: [tokenHash]
            ).map {
                StaffSession(
                    staff: try StaffAccount(sqlite: $0), csrfToken: $0[5], createdAt: try $0.storedDate(atIndex: 6),
                    lastSeenAt: try $0.storedDate(atIndex: 7))
            }
        }
        guard var session = found else { return nil }
        if now.timeIntervalSince(session.lastSeenAt) > lifetime.idle || now.timeIntervalSince(session.createdAt) > lifetime.absolute {
            try await endSession(tokenHash: tokenHash)
            return nil
        }
        if now.timeIntervalSince(session.lastSeenAt) > SessionLifetime.touchInterval {
            try await write { db in
                try db.execute(sql: "UPDATE staff_sessions SET last_seen_at = ? WHERE token_hash = ?", arguments: [now, tokenHash])
            }
            session.lastSeenAt = now
        }
        return session
    }

    public func endSession(tokenHash: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM staff_sessions WHERE token_hash = ?", arguments: [tokenHash]) }
    }

    public func recordSignInFailure(keys: [String], now: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM sign_in_failures WHERE at < ?", arguments: [now.addingTimeInterval(-SignInLimit.window)])
            for key in keys { try db.execute(sql: "INSERT INTO sign_in_failures (key, at) VALUES (?, ?)", arguments: [key, now]) }
        }
    }

    public func signInFailures(keys: [String], since: Date) async throws -> [String: [Date]] {
        try await read { db in
            var failures: [String: [Date]] = [:]
            for key in keys {
                let times = try Row.fetchAll(
                    db, sql: "SELECT at FROM sign_in_failures WHERE key = ? AND at >= ? ORDER BY at", arguments: [key, since]
                ).map { try $0.storedDate(atIndex: 0) }
                if !times.isEmpty { failures[key] = times }
            }
            return failures
        }
    }
}
