import Foundation
import ReplylineCore
import ReplylineStore
import Synchronization
import Testing

/// The rules of a claiming pass, without a store.
@Suite("Outbox pass")
struct OutboxPassTests {
    let now = Date(timeIntervalSince1970: 1_795_618_800)

    func item(_ id: Int64, contact: Int64, kind: MessageKind = .manual, business: String = "b") -> OutboxItem {
        OutboxItem(
            entry: OutboxEntry(
                id: OutboxEntryID(id), messageId: MessageID(id), businessId: business, dueAt: now, attempts: 0, state: .pending),
            message: StoredMessage(
                id: MessageID(id), conversationId: ConversationID(contact), direction: .outbound, kind: kind, provider: "twilio",
                providerMessageId: nil, fromNumber: "+15017122661", toNumber: "+1415555\(contact)", body: "Hi", media: [], segments: 1,
                encoding: .gsm7, status: .queued, appointmentId: nil, createdAt: now),
            contactID: ContactID(contact), consent: .optedIn, numberInvalid: false, recentAutomatedSends: [])
    }

    @Test("One message per contact per pass; a busy or waiting contact's later messages are left, in order")
    func oneAtATime() {
        var pass = OutboxPass(now: now) { _ in .send }
        #expect(pass.next(item(1, contact: 1), contactBusy: false) == .send)
        #expect(pass.next(item(2, contact: 1), contactBusy: false) == nil)
        #expect(pass.next(item(3, contact: 2), contactBusy: true) == nil)
        // The send on another instance ended mid-pass: the contact still waits for the next pass.
        #expect(pass.next(item(4, contact: 2), contactBusy: false) == nil)
        #expect(pass.next(item(5, contact: 3), contactBusy: false) == .send)
    }

    @Test("A held message holds the contact's later ones until the same time")
    func holdsFollow() {
        let until = now.addingTimeInterval(600)
        var pass = OutboxPass(now: now) { $0.entry.id == OutboxEntryID(1) ? .hold(until: until, reason: "quiet hours") : .send }
        #expect(pass.next(item(1, contact: 1), contactBusy: false) == .hold(until: until, reason: "quiet hours"))
        #expect(
            pass.next(item(2, contact: 1), contactBusy: false)
                == .hold(until: until, reason: "waiting for an earlier message to this contact"))
        #expect(pass.next(item(3, contact: 2), contactBusy: false) == .send)
    }

    @Test("What a pass claims counts in the facts of the rest: the month's sends per business")
    func countsClaims() {
        let seen = SeenCounts()
        var pass = OutboxPass(now: now) { item in
            seen.record(item.sentThisMonth)
            return item.sentThisMonth >= 2 ? .block(reason: "over the limit") : .send
        }
        #expect(pass.needsMonthCount("b"))
        pass.setMonthCount(1, for: "b")
        #expect(!pass.needsMonthCount("b"))
        #expect(pass.next(item(1, contact: 1), contactBusy: false) == .send)
        #expect(pass.next(item(2, contact: 2), contactBusy: false) == .block(reason: "over the limit"))
        #expect(pass.next(item(3, contact: 3, business: "c"), contactBusy: false) == .send)
        #expect(seen.values == [1, 2, 0])
    }
}

/// The counts a decision function was shown, in order.
final class SeenCounts: Sendable {
    private let recorded = Mutex<[Int]>([])

    func record(_ value: Int) { recorded.withLock { $0.append(value) } }

    var values: [Int] { recorded.withLock { $0 } }
}
