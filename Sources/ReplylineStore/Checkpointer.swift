import Foundation
import GRDB
import Synchronization

/// Copies committed pages from the write-ahead log back into the database file, from a
/// connection and thread of its own, every 10 ms.
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
final class Checkpointer: Sendable {
    private let connection: DatabaseQueue
    private let stopped = Mutex(false)

    init(path: String, interval: TimeInterval = 0.01) throws {
        var configuration = Configuration()
        configuration.label = "checkpointer"
        connection = try DatabaseQueue(path: path, configuration: configuration)
        // A thread, not a task: a checkpoint blocks on disk I/O and must not hold one of the
        // few cooperative threads that serve requests.
        Foundation.Thread.detachNewThread {
            Foundation.Thread.current.name = "replyline-checkpoint"
            while !self.stopped.withLock({ $0 }) {
                Foundation.Thread.sleep(forTimeInterval: interval)
                // Busy (another checkpoint running) or failed: the next round tries again.
                _ = try? self.connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            }
        }
    }

    func stop() {
        stopped.withLock { $0 = true }
    }
}
