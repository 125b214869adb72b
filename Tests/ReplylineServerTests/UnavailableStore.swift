import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReplylineCore
import ReplylineSQLite
import ReplylineServer
import ReplylineStore
import Synchronization
import Testing

/// A store that answers reads from `base` and, while `failing`, refuses every write as a full
/// disk does (`StoreUnavailable`), before anything is written. The server sees only the
/// `ConversationStore` contract, so its answers to a store that cannot write are tested here
/// without filling a disk (scripts/diskfull does that with SQLite itself).
final class UnavailableStore: ConversationStore {
    let base: any ConversationStore
    let failing = Mutex(true)

    init(_ base: any ConversationStore) {
        self.base = base
    }

    /// Throws while failing; the write then never reaches `base`.
    func writable() throws {
        if failing.withLock({ $0 }) { throw StoreUnavailable(reason: "a test's store refuses writes") }
    }

    func recordInbound(
        _ message: InboundMessage, businessID: String, now: Date, decide: @escaping @Sendable (ContactSnapshot) -> Decision,
        render: (@Sendable (Decision) -> String)?
    ) async throws -> InboundOutcome {
        try writable()
        return try await base.recordInbound(message, businessID: businessID, now: now, decide: decide, render: render)
    }

    func recordStatusCallback(
        _ callback: StatusCallback, now: Date, expectedAccounts: [String: String]
    ) async throws -> StatusCallbackOutcome {
        try writable()
        return try await base.recordStatusCallback(callback, now: now, expectedAccounts: expectedAccounts)
    }

    func conversations(
        businessID: String, filter: ConversationFilter, limit: Int, after cursor: ConversationCursor?
    ) async throws -> [ConversationSummary] {
        try await base.conversations(businessID: businessID, filter: filter, limit: limit, after: cursor)
    }

    func inboxCounts(businessID: String) async throws -> InboxCounts { try await base.inboxCounts(businessID: businessID) }

    func conversation(businessID: String, phone: String) async throws -> ConversationSummary? {
        try await base.conversation(businessID: businessID, phone: phone)
    }

    func threadPage(businessID: String, phone: String, limit: Int, before: MessageID?, now: Date) async throws -> ThreadPage? {
        try await base.threadPage(businessID: businessID, phone: phone, limit: limit, before: before, now: now)
    }

    func thread(businessID: String, phone: String) async throws -> ConversationThread? {
        try await base.thread(businessID: businessID, phone: phone)
    }

    func holds(messageIDs: [MessageID], now: Date) async throws -> [MessageID: MessageHold] {
        try await base.holds(messageIDs: messageIDs, now: now)
    }

    func markRead(businessID: String, phone: String) async throws -> Bool {
        try writable()
        return try await base.markRead(businessID: businessID, phone: phone)
    }

    func queueOutbound(
        businessID: String, phone: String, kind: MessageKind, body: String, media: [InboundMessage.Media], appointmentID: String?,
        provider: String, fromNumber: String, now: Date
    ) async throws -> StoredMessage {
        try writable()
        return try await base.queueOutbound(
            businessID: businessID, phone: phone, kind: kind, body: body, media: media, appointmentID: appointmentID, provider: provider,
            fromNumber: fromNumber, now: now)
    }

    func recordCall(
        _ call: CallRecord, sms: [CallSMSRequest], businessID: String, provider: String, fromNumber: String, now: Date
    ) async throws -> CallEventOutcome {
        try writable()
        return try await base.recordCall(call, sms: sms, businessID: businessID, provider: provider, fromNumber: fromNumber, now: now)
    }

    func callLog(businessID: String, callID: String, now: Date) async throws -> CallLog? {
        try await base.callLog(businessID: businessID, callID: callID, now: now)
    }

    func callLogs(businessID: String, since: Date, limit: Int, after cursor: CallCursor?, now: Date) async throws -> CallLogPage {
        try await base.callLogs(businessID: businessID, since: since, limit: limit, after: cursor, now: now)
    }

    func createAppointment(
        _ new: NewAppointment, businessID: String, provider: String, fromNumber: String, now: Date,
        compose: @escaping @Sendable (Appointment) -> AppointmentMessages
    ) async throws -> CreatedAppointment {
        try writable()
        return try await base.createAppointment(
            new, businessID: businessID, provider: provider, fromNumber: fromNumber, now: now, compose: compose)
    }

    func appointment(id: String, businessID: String) async throws -> (StoredAppointment, phone: String)? {
        try await base.appointment(id: id, businessID: businessID)
    }

    func updateAppointment(
        id: String, businessID: String, update: AppointmentUpdate, provider: String, fromNumber: String, now: Date,
        compose: @escaping @Sendable (Appointment) -> AppointmentMessages
    ) async throws -> (appointment: StoredAppointment, phone: String, confirmationMessageID: MessageID?) {
        try writable()
        return try await base.updateAppointment(
            id: id, businessID: businessID, update: update, provider: provider, fromNumber: fromNumber, now: now, compose: compose)
    }

    func appointments(
        businessID: String, filter: AppointmentFilter, limit: Int, after cursor: AppointmentCursor?
    ) async throws -> [ListedAppointment] {
        try await base.appointments(businessID: businessID, filter: filter, limit: limit, after: cursor)
    }

    func appointments(businessID: String, phone: String) async throws -> [StoredAppointment] {
        try await base.appointments(businessID: businessID, phone: phone)
    }

    func consentEvents(businessID: String, phone: String) async throws -> [StoredConsentEvent] {
        try await base.consentEvents(businessID: businessID, phone: phone)
    }

    func consentLedger(businessID: String?) async throws -> [StoredConsentEvent] {
        try await base.consentLedger(businessID: businessID)
    }

    func dueOutbox(now: Date, limit: Int) async throws -> [OutboxItem] {
        try await base.dueOutbox(now: now, limit: limit)
    }

    func outboxEntry(messageID: MessageID) async throws -> OutboxEntry? {
        try await base.outboxEntry(messageID: messageID)
    }

    func claimDue(
        owner: String, now: Date, limit: Int, decide: @escaping @Sendable (OutboxItem) -> OutboxDecision?
    ) async throws -> [DecidedEntry] {
        try writable()
        return try await base.claimDue(owner: owner, now: now, limit: limit, decide: decide)
    }

    func beginSend(_ entry: OutboxEntry, owner: String, now: Date) async throws -> AttemptStart {
        try writable()
        return try await base.beginSend(entry, owner: owner, now: now)
    }

    func recoverInterruptedSends(restartOf owner: String?, now: Date) async throws -> Int {
        try writable()
        return try await base.recoverInterruptedSends(restartOf: owner, now: now)
    }

    func finishSend(_ entry: OutboxEntry, result: SendResult, now: Date) async throws {
        try writable()
        try await base.finishSend(entry, result: result, now: now)
    }

    func usage(businessID: String, from start: Date, to end: Date) async throws -> UsageFigures {
        try await base.usage(businessID: businessID, from: start, to: end)
    }

    func deliverability(businessID: String, from start: Date, to end: Date) async throws -> DeliverabilityFigures {
        try await base.deliverability(businessID: businessID, from: start, to: end)
    }

    func outboundMessages(businessID: String, filter: OutboundFilter, limit: Int, before: MessageID?) async throws -> [OutboundListing] {
        try await base.outboundMessages(businessID: businessID, filter: filter, limit: limit, before: before)
    }

    func messageVolume(businessID: String, from start: Date, to end: Date) async throws -> [MessageVolume] {
        try await base.messageVolume(businessID: businessID, from: start, to: end)
    }

    func addStaff(_ account: StaffAccount) async throws {
        try writable()
        try await base.addStaff(account)
    }

    func staffAccount(email: String) async throws -> StaffAccount? { try await base.staffAccount(email: email) }

    func staffAccounts(businessID: String?) async throws -> [StaffAccount] { try await base.staffAccounts(businessID: businessID) }

    func removeStaff(email: String) async throws -> Bool {
        try writable()
        return try await base.removeStaff(email: email)
    }

    func setStaffPassword(email: String, passwordHash: String) async throws -> Bool {
        try writable()
        return try await base.setStaffPassword(email: email, passwordHash: passwordHash)
    }

    func createSession(tokenHash: String, staffID: String, csrfToken: String, lifetime: SessionLifetime, now: Date) async throws {
        try writable()
        try await base.createSession(tokenHash: tokenHash, staffID: staffID, csrfToken: csrfToken, lifetime: lifetime, now: now)
    }

    func session(tokenHash: String, lifetime: SessionLifetime, now: Date) async throws -> StaffSession? {
        try await base.session(tokenHash: tokenHash, lifetime: lifetime, now: now)
    }

    func endSession(tokenHash: String) async throws {
        try writable()
        try await base.endSession(tokenHash: tokenHash)
    }

    func recordSignInFailure(keys: [String], now: Date) async throws {
        try writable()
        try await base.recordSignInFailure(keys: keys, now: now)
    }

    func signInFailures(keys: [String], since: Date) async throws -> [String: [Date]] {
        try await base.signInFailures(keys: keys, since: since)
    }

    func businessIDs() async throws -> [String] { try await base.businessIDs() }

    func tableCounts() async throws -> [String: Int] { try await base.tableCounts() }

    func backup(to path: String) async throws { try await base.backup(to: path) }

    func integrityCheck() async throws -> String { try await base.integrityCheck() }

    func checkAvailable() async throws { try writable() }
}

@Suite("A store that cannot write")
struct UnavailableStoreTests {
    /// A test server on a store that refuses writes until told otherwise.
    static func server() async throws -> (TestServer, UnavailableStore) {
        let unavailable = Mutex<UnavailableStore?>(nil)
        let server = try await TestServer(
            store: { base in
                let store = UnavailableStore(base)
                unavailable.withLock { $0 = store }
                return store
            })
        return (server, try #require(unavailable.withLock { $0 }))
    }

    @Test("Webhooks and API writes answer 503 with Retry-After and change nothing; reads still answer; once it writes again all is well")
    func refusesCleanly() async throws {
        let (server, store) = try await Self.server()
        store.failing.withLock { $0 = false }
        try await server.app.test(.router) { client in
            try await client.text("Hello", sid: "SMbefore")
            let before = try await server.database.tableCounts()
            store.failing.withLock { $0 = true }

            let (headers, form) = TestServer.inbound(TestServer.sms("SMduring", body: "C"))
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "30")
            }
            let callback: [(name: String, value: String)] = [
                ("AccountSid", "AC0000"), ("MessageSid", "SMx"), ("MessageStatus", "delivered"), ("From", TestServer.business),
            ]
            let (callbackHeaders, callbackForm) = TestServer.inbound(callback, path: "/webhooks/twilio/status")
            try await client.execute(uri: "/webhooks/twilio/status", method: .post, headers: callbackHeaders, body: callbackForm) {
                #expect($0.status == .serviceUnavailable)
                #expect($0.headers[.retryAfter] == "30")
            }
            let booking = #"{"phone": "+14155550100", "service": "Checkup", "starts_at": "2026-12-01T09:00:00-05:00"}"#
            let created = try await client.json(.post, "/api/v1/appointments", body: booking)
            #expect(created.status == .serviceUnavailable)
            #expect((created.json["error"] as? [String: Any])?["code"] as? String == "storage_unavailable")
            let sent = try await client.json(.post, "/api/v1/conversations/+14155550100/messages", body: #"{"body": "Hi"}"#)
            #expect(sent.status == .serviceUnavailable)
            #expect(try await client.json(.post, "/api/v1/conversations/+14155550100/read").status == .serviceUnavailable)
            #expect(try await client.json(.get, "/api/v1/conversations/+14155550100").status == .ok)
            #expect(try await server.database.tableCounts() == before)

            store.failing.withLock { $0 = false }
            try await client.execute(uri: "/webhooks/twilio/messages", method: .post, headers: headers, body: form) {
                #expect($0.status == .ok)
            }
            #expect(try await client.json(.post, "/api/v1/appointments", body: booking).status == .created)
            let thread = try #require(try await server.database.thread(businessID: "clinic", phone: "+14155550100"))
            #expect(thread.messages.filter { $0.providerMessageId == "SMduring" }.count == 1)
        }
    }

    @Test("A staff sign-in the store cannot record is a 503 page with Retry-After, and signs no one in")
    func signInDuringOutage() async throws {
        let (server, store) = try await Self.server()
        try await WebInboxTests.addStaff(server)
        try await server.app.test(.router) { client in
            var browser = WebBrowser()
            for password in [WebInboxTests.password, "not the password"] {
                let answer = try await browser.signIn(client, email: "desk@clinic.example", password: password)
                #expect(answer.status == .serviceUnavailable)
                #expect(answer.headers[.retryAfter] == "30")
                #expect(answer.html.contains("The database cannot be reached"))
            }
            #expect(try await browser.get(client, "/").status == .seeOther)
            store.failing.withLock { $0 = false }
            #expect(try await browser.signIn(client, email: "desk@clinic.example", password: WebInboxTests.password).status == .seeOther)
        }
    }
}
