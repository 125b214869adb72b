import Testing

@testable import ReplylineServer

/// The outbox's doorbell. Each wait here is an hour long: a doorbell that failed to wake
/// it would hang the test until its time limit, never pass by waiting.
@Suite("Outbox doorbell")
struct OutboxDoorbellTests {
    @Test("A ring made while no one waits is kept for the next wait", .timeLimit(.minutes(1)))
    func keptRing() async {
        let doorbell = OutboxDoorbell()
        doorbell.ring()
        doorbell.ring()
        await doorbell.wait(upTo: .seconds(3600))
    }

    @Test("A ring wakes the worker waiting on it", .timeLimit(.minutes(1)))
    func wakes() async {
        let doorbell = OutboxDoorbell()
        let waiting = Task { await doorbell.wait(upTo: .seconds(3600)) }
        doorbell.ring()
        await waiting.value
    }

    @Test("Cancelling a wait ends it", .timeLimit(.minutes(1)))
    func cancelled() async {
        let doorbell = OutboxDoorbell()
        let waiting = Task { await doorbell.wait(upTo: .seconds(3600)) }
        waiting.cancel()
        await waiting.value
        // The bell still works afterwards.
        doorbell.ring()
        await doorbell.wait(upTo: .seconds(3600))
    }
}
