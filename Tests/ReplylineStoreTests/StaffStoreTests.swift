import Foundation
import ReplylineStore
import Testing

/// Staff accounts, sessions and sign-in failures, on the backend under test.
@Suite("Staff accounts and sessions")
struct StaffStoreTests {
    let now = Date(timeIntervalSince1970: 1_795_618_800)
    let lifetime = SessionLifetime(idle: 3600, absolute: 86400)

    func account(_ email: String, business: String = "clinic") -> StaffAccount {
        StaffAccount(id: "id-" + email, businessID: business, email: email, passwordHash: "$2b$04$hash-of-" + email, createdAt: now)
    }

    @Test("An email has one account across businesses; listing is by business then email")
    func accounts() async throws {
        let store = try await TestStore.make()
        try await store.addStaff(account("b@clinic.example"))
        try await store.addStaff(account("a@clinic.example"))
        try await store.addStaff(account("c@salon.example", business: "salon"))
        await #expect(throws: StaffAccountError.emailTaken("a@clinic.example")) {
            try await store.addStaff(
                StaffAccount(id: "other", businessID: "salon", email: "a@clinic.example", passwordHash: "x", createdAt: now))
        }
        #expect(try await store.staffAccounts(businessID: "clinic").map(\.email) == ["a@clinic.example", "b@clinic.example"])
        #expect(try await store.staffAccounts(businessID: nil).map(\.email) == ["a@clinic.example", "b@clinic.example", "c@salon.example"])
        #expect(try await store.staffAccount(email: "c@salon.example") == account("c@salon.example", business: "salon"))
        #expect(try await store.staffAccount(email: "nobody@example.com") == nil)
    }

    @Test("A session lives until it is idle or old, is touched at most once a minute, and ends with its account's password or removal")
    func sessions() async throws {
        let store = try await TestStore.make()
        try await store.addStaff(account("desk@clinic.example"))
        try await store.createSession(tokenHash: "t1", staffID: "id-desk@clinic.example", csrfToken: "c1", lifetime: lifetime, now: now)
        let found = try #require(try await store.session(tokenHash: "t1", lifetime: lifetime, now: now.addingTimeInterval(30)))
        #expect(found.staff.email == "desk@clinic.example" && found.csrfToken == "c1" && found.lastSeenAt == now)
        // Used every 50 minutes, it outlives the idle hour, until the absolute day.
        var at = now
        for _ in 0..<20 {
            at = at.addingTimeInterval(50 * 60)
            #expect(try await store.session(tokenHash: "t1", lifetime: lifetime, now: at)?.lastSeenAt == at)
        }
        #expect(try await store.session(tokenHash: "t1", lifetime: lifetime, now: now.addingTimeInterval(86400 + 1)) == nil)
        #expect(try await store.session(tokenHash: "t1", lifetime: lifetime, now: at) == nil, "an ended session is deleted")

        try await store.createSession(tokenHash: "t2", staffID: "id-desk@clinic.example", csrfToken: "c2", lifetime: lifetime, now: now)
        #expect(try await store.session(tokenHash: "t2", lifetime: lifetime, now: now.addingTimeInterval(3601)) == nil)

        try await store.createSession(tokenHash: "t3", staffID: "id-desk@clinic.example", csrfToken: "c3", lifetime: lifetime, now: now)
        #expect(try await store.setStaffPassword(email: "desk@clinic.example", passwordHash: "new"))
        #expect(try await store.session(tokenHash: "t3", lifetime: lifetime, now: now) == nil)
        #expect(try await store.staffAccount(email: "desk@clinic.example")?.passwordHash == "new")

        try await store.createSession(tokenHash: "t4", staffID: "id-desk@clinic.example", csrfToken: "c4", lifetime: lifetime, now: now)
        try await store.endSession(tokenHash: "t4")
        #expect(try await store.session(tokenHash: "t4", lifetime: lifetime, now: now) == nil)

        try await store.createSession(tokenHash: "t5", staffID: "id-desk@clinic.example", csrfToken: "c5", lifetime: lifetime, now: now)
        #expect(try await store.removeStaff(email: "desk@clinic.example"))
        #expect(try await store.session(tokenHash: "t5", lifetime: lifetime, now: now) == nil)
        #expect(try await !store.removeStaff(email: "desk@clinic.example"))
        #expect(try await !store.setStaffPassword(email: "desk@clinic.example", passwordHash: "x"))
    }

    @Test("A new session forgets the sessions that expired unused")
    func prune() async throws {
        let store = try await TestStore.make()
        try await store.addStaff(account("desk@clinic.example"))
        try await store.createSession(tokenHash: "old", staffID: "id-desk@clinic.example", csrfToken: "c", lifetime: lifetime, now: now)
        try await store.createSession(
            tokenHash: "new", staffID: "id-desk@clinic.example", csrfToken: "c", lifetime: lifetime, now: now.addingTimeInterval(7200))
        // Read with a longer lifetime, the old one would still be live: it is gone, not expired.
        let long = SessionLifetime(idle: 86400, absolute: 86400 * 7)
        #expect(try await store.session(tokenHash: "old", lifetime: long, now: now.addingTimeInterval(7200)) == nil)
        #expect(try await store.session(tokenHash: "new", lifetime: long, now: now.addingTimeInterval(7200)) != nil)
    }

    @Test("Sign-in failures are kept per key for the limit's window, and its wait is counted from the oldest that counts")
    func failures() async throws {
        let store = try await TestStore.make()
        for second in 0..<6 {
            try await store.recordSignInFailure(keys: ["email:a", "address:1"], now: now.addingTimeInterval(Double(second)))
        }
        try await store.recordSignInFailure(keys: ["email:b"], now: now.addingTimeInterval(10))
        let at = now.addingTimeInterval(20)
        let found = try await store.signInFailures(
            keys: ["email:a", "address:1", "email:c"], since: at.addingTimeInterval(-SignInLimit.window))
        #expect(found["email:a"]?.count == 6 && found["address:1"]?.count == 6 && found["email:c"] == nil)
        // The fifth newest failure (at +1 s) keeps the key limited until +61 s.
        #expect(SignInLimit.wait(found, now: at) == 41)
        #expect(SignInLimit.wait(["email:b": [now]], now: at) == nil)
        // Failures older than the window are forgotten by the next one recorded.
        try await store.recordSignInFailure(keys: ["email:b"], now: now.addingTimeInterval(200))
        #expect(try await store.signInFailures(keys: ["email:a"], since: .distantPast).isEmpty)
    }
}
