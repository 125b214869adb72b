import GRDB
import Synchronization

/// Runs write jobs in shared transactions: every job waiting when the writer comes free
/// goes into one transaction, each inside its own savepoint, and one commit (one fsync)
/// acknowledges them all. A job's caller resumes only after that commit succeeds, so
/// nothing is acknowledged before it is durable; a job that throws rolls back its own
/// savepoint and leaves the others alone.
final class GroupCommitter: Sendable {
    struct Job: Sendable {
        /// Runs inside the transaction; returns what resumes the caller once committed.
        let run: @Sendable (Database) -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    struct Queue: ~Copyable {
        var jobs: [Job] = []
        var draining = false
    }

    let writer: any DatabaseWriter
    let queue = Mutex(Queue())
    /// Upper bound on jobs per transaction, so one commit never holds a caller for long.
    let maxBatch: Int

    init(writer: any DatabaseWriter, maxBatch: Int = 512) {
        self.writer = writer
        self.maxBatch = maxBatch
    }

    func submit<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db in
                    do {
                        nonisolated(unsafe) var value: T?
                        try db.inSavepoint {
                            value = try work(db)
                            return .commit
                        }
                        let result = value!
                        return { continuation.resume(returning: result) }
                    } catch {
                        return { continuation.resume(throwing: error) }
                    }
                },
                fail: { continuation.resume(throwing: $0) })
            let startDrain = queue.withLock { queue in
                queue.jobs.append(job)
                if queue.draining { return false }
                queue.draining = true
                return true
            }
            if startDrain {
                writer.asyncWriteWithoutTransaction { db in self.drain(db) }
            }
        }
    }

    /// Runs on the writer's queue until no job is waiting.
    func drain(_ db: Database) {
        while true {
            let batch: [Job] = queue.withLock { queue in
                if queue.jobs.isEmpty {
                    queue.draining = false
                    return []
                }
                let take = min(queue.jobs.count, maxBatch)
                let batch = Array(queue.jobs.prefix(take))
                queue.jobs.removeFirst(take)
                return batch
            }
            if batch.isEmpty { return }
            var resumes: [@Sendable () -> Void] = []
            resumes.reserveCapacity(batch.count)
            do {
                try db.inTransaction(.immediate) {
                    for job in batch { resumes.append(job.run(db)) }
                    return .commit
                }
                for resume in resumes { resume() }
            } catch {
                for job in batch { job.fail(error) }
            }
        }
    }
}
