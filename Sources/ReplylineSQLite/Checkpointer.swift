import Foundation
import GRDB
import ReplylineStore
import Synchronization

/// Copies committed pages from the write-ahead log back into the database file, from a
/// connection and thread of its own, after commits: at most one pass every 10 ms.
///
/// SQLite checkpoints inside the committing connection, which here is the single writer
/// every webhook waits on; a long checkpoint there holds every caller of the next batch.
/// A passive checkpoint elsewhere needs no write lock, so commits go on while it copies.
/// The writer still checkpoints (rarely: `wal_autocheckpoint`), because only a checkpoint
/// between two of its transactions lets it restart the log; by then nearly every frame has
/// been copied here, so that checkpoint is short.
///
/// Often, because the log's sync at each commit waits behind a pass's sync of the
/// database file, and a short pass syncs less; but each pass costs CPU of its own, and a
/// page changed again after a pass is copied again. Measured (webhook load, 8 s runs
/// alternated, 3 each): every 20 ms 10.1k-11.1k webhooks/s with p99 17-24 ms, every 10 ms
/// 8.3k-9.9k with p99 16-17 ms, every 5 ms 8.8k-9.3k with p99 14-15 ms. The p99 target is
/// 20 ms, so 10 ms. (Earlier, 50 ms against 20 ms: p99 24.3 ms against 17.7 ms.)
///
/// The group committer wakes it (`committed()`); with no commit it sleeps, but looks at
/// the log once a second anyway, for writes that did not go through the committer
/// (migrations, tools). It used to pass every 10 ms whether or not anything was written:
/// a test run holds a few hundred databases open at once, each with its own thread.
///
/// Under load the log grows to about `wal_autocheckpoint`'s 128 MiB and SQLite keeps the
/// file at that size for reuse. Once the log has been idle (every frame copied, none
/// added) for `idleTruncation`, one truncating checkpoint gives the disk space back; it
/// never waits for a writer, so a burst of traffic only postpones it.
final class Checkpointer: Sendable {
    private let stopped = Atomic(false)
    /// True from a commit until the pass that follows it starts.
    private let pending = Atomic(false)
    /// Signalled by a commit (once per pass) and by `stop()`.
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled by the thread once its connection is closed.
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, interval: TimeInterval = 0.01, idleTruncation: TimeInterval = 5, lookEvery: TimeInterval = 1) throws {
        var configuration = Configuration()
        configuration.label = "checkpointer"
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        // A thread, not a task: a checkpoint blocks on disk I/O and must not hold one of the
        // few cooperative threads that serve requests.
        Foundation.Thread.detachNewThread { [self] in
            Foundation.Thread.current.name = "replyline-checkpoint"
            var lastFrames = 0
            var lastChange = Date()
            var uncopied = false
            while true {
                // A log with frames waits at most until it would count as idle.
                let wait = lastFrames > 0 || uncopied ? min(lookEvery, idleTruncation) : lookEvery
                let woken = wake.wait(timeout: .now() + wait) == .success
                if stopped.load(ordering: .relaxed) { break }
                pending.store(false, ordering: .relaxed)
                // Busy (another checkpoint running) or failed: the next round tries again.
                if let log = try? connection.writeWithoutTransaction({ db in try db.checkpoint(.passive) }) {
                    uncopied = log.walFrameCount != log.checkpointedFrameCount
                    if log.walFrameCount != lastFrames || uncopied { lastChange = Date() }
                    lastFrames = log.walFrameCount
                    if lastFrames > 0, !uncopied, Date().timeIntervalSince(lastChange) >= idleTruncation {
                        if (try? connection.writeWithoutTransaction({ db in try db.checkpoint(.truncate) })) != nil {
                            lastFrames = 0
                        }
                    }
                }
                if woken { Foundation.Thread.sleep(forTimeInterval: interval) }
            }
            try? connection.close()
            finished.signal()
        }
    }

    /// A transaction was committed: a pass follows within `interval`.
    func committed() {
        if !pending.exchange(true, ordering: .relaxed) { wake.signal() }
    }

    /// Ends the passes and returns once the checkpointer's connection is closed. Until
    /// then that connection could be the last one open on the file, and closing it
    /// checkpoints the whole log under an exclusive lock: whoever opened the file next
    /// was refused with "database is locked" (seen in a test under ASan).
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        wake.signal()
        finished.wait()
    }
}
