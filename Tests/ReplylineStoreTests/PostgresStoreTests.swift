import Foundation
import PostgresNIO
import ReplylineCore
import ReplylineStore
import Testing

@testable import ReplylinePostgres

@Suite("PostgreSQL location")
struct PostgresLocationTests {
    @Test("A URL reads as libpq reads it, and its description never shows the password")
    func parses() throws {
        let location = try PostgresLocation(url: "postgres://rl%40ops:s3cr%2Ft@db.example.com:6543/replyline?sslmode=require")
        #expect(location.host == "db.example.com")
        #expect(location.port == 6543)
        #expect(location.user == "rl@ops")
        #expect(location.password == "s3cr/t")
        #expect(location.database == "replyline")
        #expect(location.sslMode == .require)
        #expect(!location.description.contains("s3cr"))
        #expect(try PostgresLocation(url: "postgresql://u@h/d").port == 5432)
        #expect(try PostgresLocation(url: "postgresql://u@h/d").sslMode == .prefer)
    }

    @Test(
        "A URL that cannot work says what is missing",
        arguments: [
            ("postgres://u:p@host", "names no database"), ("postgres://host/db", "names no user"),
            ("postgres://u@h/d?sslmode=sometimes", "sslmode=sometimes is not one of"),
            ("postgres://u@h/d?pool=9", "`pool` is not supported"),
            ("mysql://u@h/d", "expected postgres://"),
        ])
    func refuses(url: String, says: String) {
        #expect {
            _ = try PostgresLocation(url: url)
        } throws: { error in
            "\(error)".contains(says) && !"\(error)".contains(":p@")
        }
    }

    @Test("A server that is not there is StoreUnavailable naming its host and port")
    func unreachable() async throws {
        let location = try PostgresLocation(url: "postgres://replyline:pw@127.0.0.1:1/replyline?sslmode=disable")
        await #expect {
            _ = try await PostgresStore(location: location)
        } throws: { error in
            (error as? StoreUnavailable)?.reason.contains("PostgreSQL at 127.0.0.1:1 cannot be reached") == true
        }
    }
}

/// Several instances on one database: two stores on one schema stand for two `serve`s.
@Suite("PostgreSQL with several instances", .enabled(if: TestStore.backend == "postgres"))
struct PostgresInstancesTests {
    let now = Date(timeIntervalSince1970: 1_795_618_800)
    var url: String { ProcessInfo.processInfo.environment["REPLYLINE_TEST_POSTGRES_URL"] ?? "" }

    func pair() async throws -> (PostgresStore, PostgresStore) {
        let schema = TestStore.schema()
        let location = try PostgresLocation(url: url)
        async let first = PostgresStore(location: location, schema: schema, connections: 8, connectionWait: .seconds(60))
        async let second = PostgresStore(location: location, schema: schema, connections: 8, connectionWait: .seconds(60))
        return try await (first, second)
    }

    func message(_ sid: String, body: String, from: String = "+14155550100") -> InboundMessage {
        InboundMessage(
            provider: "twilio", providerMessageID: sid, accountID: "AC1", messagingServiceID: nil, from: from, to: "+15017122661",
            body: body, media: [], providerOptOut: nil, parameters: [("MessageSid", sid), ("Body", body)])
    }

    /// STOP opts out and START opts back in; each reply names the consent it saw.
    static let decide: @Sendable (String) -> @Sendable (ContactSnapshot) -> Decision = { body in
        { contact in
            var decision = Decision(intent: .conversation)
            if body == "STOP", contact.consent == .optedIn { decision.consentChange = ConsentChange(to: .optedOut, source: .keyword) }
            if body == "START", contact.consent == .optedOut { decision.consentChange = ConsentChange(to: .optedIn, source: .keyword) }
            decision.replies = ["\(body) seen \(contact.consent.rawValue)"]
            return decision
        }
    }

    @Test("Two instances starting together on an empty database migrate it once")
    func migrateTogether() async throws {
        let (first, _) = try await pair()
        let versions = try await first.read { connection in
            try await connection.rows("SELECT version FROM replyline_schema").map { try $0.get(0, as: Int64.self) }
        }
        #expect(versions == PostgresStore.migrations.map(\.version))
        #expect(try await first.integrityCheck() == "ok")
        #expect(try await first.migrate() == [])
    }

    @Test("One MessageSid at two instances at once: one row, one consent change, the same answer from both")
    func duplicateAcrossInstances() async throws {
        let (first, second) = try await pair()
        let now = self.now
        let render: @Sendable (Decision) -> String = { "<Response><Message>\($0.replies.joined())</Message></Response>" }
        let outcomes = try await withThrowingTaskGroup(of: InboundOutcome.self) { group in
            for index in 0..<20 {
                let store = index % 2 == 0 ? first : second
                group.addTask {
                    try await store.recordInbound(
                        self.message("SMtwice", body: "STOP"), businessID: "b", now: now, decide: Self.decide("STOP"), render: render)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { !$0.isDuplicate }.count == 1)
        #expect(Set(outcomes.map(\.reply)).count == 1)
        #expect(try await first.consentEvents(businessID: "b", phone: "+14155550100").count == 1)
        #expect(try await second.tableCounts()["messages"] == 2)
    }

    @Test("One call event retried at two instances at once records each SMS once and queues it once")
    func callAcrossInstances() async throws {
        let (first, second) = try await pair()
        let now = self.now
        let call = CallRecord(
            callID: "call_twice", agent: "front_desk", phone: "+14155550100", endedAt: now, variables: ["name": "Ana"], receivedAt: now)
        let sms = ["sms_confirmation", "sms_directions"].map {
            CallSMSRequest(key: $0, action: $0, kind: .postCall, messageClass: .transactional, body: "\($0) for Ana", dueAt: now)
        }
        let outcomes = try await withThrowingTaskGroup(of: CallEventOutcome.self) { group in
            for index in 0..<20 {
                let store = index % 2 == 0 ? first : second
                group.addTask {
                    try await store.recordCall(call, sms: sms, businessID: "b", provider: "twilio", fromNumber: "+15017122661", now: now)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter(\.createdCall).count == 1)
        #expect(outcomes.flatMap(\.queued).count == 2)
        #expect(outcomes.allSatisfy { $0.log.sms.map(\.key) == ["sms_confirmation", "sms_directions"] })
        let counts = try await second.tableCounts()
        #expect(counts["calls"] == 1)
        #expect(counts["call_sms"] == 2)
        #expect(counts["outbox"] == 2)
    }

    @Test("One contact's messages at two instances apply one after the other: the ledger is a chain")
    func oneContactSerialized() async throws {
        let (first, second) = try await pair()
        let now = self.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let body = index % 2 == 0 ? "STOP" : "START"
                let store = index % 3 == 0 ? first : second
                group.addTask {
                    _ = try await store.recordInbound(
                        self.message("SMc\(index)", body: body), businessID: "b", now: now.addingTimeInterval(Double(index)),
                        decide: Self.decide(body), render: { $0.replies.joined() })
                }
            }
            try await group.waitForAll()
        }
        let ledger = try await first.consentEvents(businessID: "b", phone: "+14155550100")
        #expect(!ledger.isEmpty)
        // Each change starts from the state the previous one left: no two instances decided
        // on the same stale consent.
        #expect(ledger.first?.fromState == .optedIn)
        for (earlier, later) in zip(ledger, ledger.dropFirst()) { #expect(later.fromState == earlier.toState) }
        let summary = try #require(try await second.conversation(businessID: "b", phone: "+14155550100"))
        #expect(summary.consent == ledger.last?.toState)
    }

    struct Delivery: Sendable {
        var sid: String, from: String, body: String, index: Int
    }

    static let twiml: @Sendable (Decision) -> String = { "<Response>\($0.replies.joined())</Response>" }

    @Test("Webhooks waiting together commit as batches, each applied as if alone: first contacts, chains, retries, queued replies")
    func batches() async throws {
        let (first, second) = try await pair()
        let now = self.now
        // 30 contacts, 6 messages each, STOP and START in turn; every fifth delivery
        // repeated; contacts from 20 on answered through the outbox; and one message id
        // sent again by another contact, which fails its batch and is applied alone.
        var planned: [Delivery] = []
        for index in 0..<180 {
            let delivery = Delivery(
                sid: "SMb\(index)", from: "+1415555\(1000 + index % 30)", body: index / 30 % 2 == 0 ? "STOP" : "START", index: index)
            planned.append(delivery)
            if index % 5 == 0 { planned.append(delivery) }
        }
        planned.append(Delivery(sid: "SMb7", from: "+14155559999", body: "HELLO", index: 7))
        let deliveries = planned
        let outcomes: [(String, InboundOutcome)] = try await withThrowingTaskGroup(of: (String, InboundOutcome).self) { group in
            for (position, delivery) in deliveries.enumerated() {
                let store = position % 2 == 0 ? first : second
                let queued = delivery.from >= "+14155551020"
                let render = queued ? nil : Self.twiml
                group.addTask {
                    let outcome = try await store.recordInbound(
                        self.message(delivery.sid, body: delivery.body, from: delivery.from), businessID: "b",
                        now: now.addingTimeInterval(Double(delivery.index)), decide: Self.decide(delivery.body), render: render)
                    return (delivery.sid, outcome)
                }
            }
            var outcomes: [(String, InboundOutcome)] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(first.inbound.largestBatch > 1 || second.inbound.largestBatch > 1)
        let bySid = Dictionary(grouping: outcomes, by: { (sid: String, _: InboundOutcome) in sid })
        #expect(bySid.count == 180)
        for (sid, answers) in bySid {
            let stored = answers.filter { (_, outcome) in !outcome.isDuplicate }
            #expect(stored.count == 1, "\(sid) stored once")
            #expect(Set(answers.map { (_, outcome) in outcome.reply }).count == 1, "\(sid) answered alike")
            #expect(Set(answers.map { (_, outcome) in outcome.messageID }).count == 1, "\(sid) one message id")
        }
        // Whichever of SMb7's two senders came first owns it; the other was answered as a
        // retry. The other sender's contact exists only if it won (its reply is queued).
        let spoofWon = try await first.conversation(businessID: "b", phone: "+14155559999") != nil
        let won = spoofWon ? 1 : 0
        let counts = try await first.tableCounts()
        // 180 messages, and a reply to each.
        #expect(counts["messages"] == 360)
        #expect(counts["outbox"] == 60 + won)
        #expect(counts["contacts"] == 30 + won)
        for contact in 0..<30 {
            let ledger = try await second.consentEvents(businessID: "b", phone: "+1415555\(1000 + contact)")
            #expect(ledger.first?.fromState == .optedIn)
            for (earlier, later) in zip(ledger, ledger.dropFirst()) { #expect(later.fromState == earlier.toState) }
            let summary = try #require(try await first.conversation(businessID: "b", phone: "+1415555\(1000 + contact)"))
            #expect(summary.consent == ledger.last?.toState)
            #expect(summary.unreadCount == (contact == 7 ? 6 - won : 6))
        }
    }

    @Test("A callback held at one instance is applied when another learns the id")
    func heldAcrossInstances() async throws {
        let (first, second) = try await pair()
        let queued = try await first.queueManualMessage(
            businessID: "b", phone: "+14155550100", body: "Hi", media: [], provider: "twilio", fromNumber: "+15017122661", now: now)
        let entry = try #require(try await first.outboxEntry(messageID: queued.id!))
        #expect(try await first.claim(entry, owner: "one", now: now))
        #expect(try await !second.claim(entry, owner: "two", now: now))
        let callback = StatusCallback(
            provider: "twilio", providerMessageID: "SMsent", status: .delivered, errorCode: nil, errorMessage: nil, messageID: nil,
            from: "+15017122661", businessID: "b")
        #expect(try await second.recordStatusCallback(callback, now: now) == .held)
        try await first.finishSend(entry, result: .sent(providerMessageID: "SMsent", status: .queued), now: now)
        let thread = try #require(try await second.thread(businessID: "b", phone: "+14155550100"))
        #expect(thread.messages.last?.status == .delivered)
        #expect(thread.messages.last?.providerMessageId == "SMsent")
    }

    @Test("Recovery after a restart settles only expired claims and the restarting instance's own")
    func recoveryLeavesLiveClaims() async throws {
        let (first, second) = try await pair()
        var entries: [OutboxEntry] = []
        for phone in ["+14155550101", "+14155550102"] {
            let queued = try await first.queueManualMessage(
                businessID: "b", phone: phone, body: "Hi", media: [], provider: "twilio", fromNumber: "+15017122661", now: now)
            entries.append(try #require(try await first.outboxEntry(messageID: queued.id!)))
        }
        #expect(try await first.claim(entries[0], owner: "one", now: now))
        #expect(try await second.claim(entries[1], owner: "two", now: now))
        #expect(try await second.recoverInterruptedSends(restartOf: "two", now: now.addingTimeInterval(1)) == 1)
        #expect(try await first.outboxEntry(messageID: entries[0].messageId)?.state == .sending)
        #expect(try await second.outboxEntry(messageID: entries[1].messageId)?.state == .unknown)
        #expect(try await first.recoverInterruptedSends(now: now.addingTimeInterval(OutboxTerms.sendLease + 1)) == 1)
        #expect(try await first.outboxEntry(messageID: entries[0].messageId)?.state == .unknown)
    }

    /// Runs `rounds` claiming passes on each store at once, recording every claimed send as
    /// sent at once; returns the message ids each pass claimed.
    func claimTogether(
        _ stores: [PostgresStore], rounds: Int, decide: @escaping @Sendable (OutboxItem) -> OutboxDecision?
    ) async throws -> [MessageID] {
        let now = self.now
        return try await withThrowingTaskGroup(of: [MessageID].self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    var claimed: [MessageID] = []
                    for _ in 0..<rounds {
                        // Three at a time: concurrent passes see different rows (the rest are locked).
                        let pass = try await store.claimDue(owner: "instance-\(index)", now: now, limit: 3, decide: decide)
                        for entry in pass
                        where entry.decision == .send {
                            claimed.append(entry.item.entry.messageId)
                            try await store.finishSend(entry.item.entry, result: .sent(providerMessageID: nil, status: .sent), now: now)
                        }
                    }
                    return claimed
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    @Test("Claiming passes on two instances send each message once, and cadence and the monthly limit hold across them")
    func claimsAcrossInstances() async throws {
        let (first, second) = try await pair()
        // Business b: eight automated messages to one contact. Business c: twelve manual ones
        // to twelve contacts, on a plan of ten a month.
        for index in 0..<8 {
            _ = try await first.queueOutbound(
                businessID: "b", phone: "+14155550100", kind: .postCall, body: "Follow-up \(index)", media: [], appointmentID: nil,
                provider: "twilio", fromNumber: "+15017122661", now: now)
        }
        for index in 0..<12 {
            _ = try await second.queueManualMessage(
                businessID: "c", phone: "+1415555\(String(format: "%04d", 200 + index))", body: "Hi", media: [], provider: "twilio",
                fromNumber: "+15017122661", now: now)
        }
        let now = self.now
        // The policy in small: two automated messages per contact in ten minutes, ten a month.
        let claimed = try await claimTogether([first, second], rounds: 20) { item in
            if item.entry.businessId == "c", item.sentThisMonth >= 10 { return .block(reason: "over the plan's limit") }
            if item.message.isAutomated, item.recentAutomatedSends.count >= 2 {
                return .hold(until: now.addingTimeInterval(600), reason: "cadence")
            }
            return .send
        }
        #expect(claimed.count == Set(claimed).count, "a message was claimed twice")
        #expect(claimed.count == 12)
        let followUps = try #require(try await first.thread(businessID: "b", phone: "+14155550100")).messages
        // The first two, in order; the rest wait for the window.
        #expect(followUps.map(\.status) == [.sent, .sent] + Array(repeating: .queued, count: 6))
        #expect(try await first.usage(businessID: "c", from: now, to: now.addingTimeInterval(1)).outboundMessages == 10)
    }

    @Test("The consent ledger refuses updates, deletes and truncation")
    func appendOnly() async throws {
        let (store, _) = try await pair()
        _ = try await store.recordInbound(
            message("SM1", body: "STOP"), businessID: "b", now: now, decide: Self.decide("STOP"), render: { _ in "" })
        for statement in ["UPDATE consent_events SET to_state = 'opted_in'", "DELETE FROM consent_events", "TRUNCATE consent_events"] {
            await #expect(throws: (any Error).self, "\(statement)") {
                try await store.write { connection in try await connection.run(PostgresQuery(unsafeSQL: statement)) }
            }
        }
        #expect(try await store.consentLedger(businessID: "b").count == 1)
    }
}
