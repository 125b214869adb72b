import GRDB
import ReplylineStore
import Synchronization

/// Runs write jobs in shared transactions: every job waiting when the writer comes free
/// goes into one transaction, and one commit (one fsync) acknowledges them all. A job's
/// caller resumes only after that commit succeeds, so nothing is acknowledged before it
/// is durable.
///
/// The jobs of a batch first run back to back. Only when one throws is the transaction
/// rolled back and the batch run again with a savepoint per job, so the failing job rolls
/// back alone and leaves the others be. A job may therefore run twice: it must do nothing
/// outside the database. (A savepoint for every job had cost two statements and a copy of
/// each page the job changed, on the one thread all webhooks wait for.)
final class GroupCommitter: Sendable {
    struct Job: Sendable {
        /// Runs inside the transaction; returns what resumes the caller once committed.
        let run: @Sendable (Database) throws -> @Sendable () -> Void
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
    /// Called after each commit, on the writer's queue (the checkpointer's wake-up).
    let committed: @Sendable () -> Void

    init(writer: any DatabaseWriter, maxBatch: Int = 512, committed: @escaping @Sendable () -> Void = {}) {
        self.writer = writer
        self.maxBatch = maxBatch
        self.committed = committed
    }

    func submit<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db in
                    let value = try work(db)
                    return { continuation.resume(returning: value) }
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
                    for job in batch { resumes.append(try job.run(db)) }
                    return .commit
                }
            } catch {
                // Rolled back: nothing of this batch happened. Each job again, alone.
                resumes = isolated(batch, db)
            }
            committed()
            for resume in resumes { resume() }
        }
    }

    /// Runs `batch` in one transaction with a savepoint per job: a job that throws rolls
    /// back its own changes and its caller gets the error once the others are committed.
    func isolated(_ batch: [Job], _ db: Database) -> [@Sendable () -> Void] {
        var resumes: [@Sendable () -> Void] = []
        resumes.reserveCapacity(batch.count)
        do {
            try db.inTransaction(.immediate) {
                for job in batch {
                    do {
                        try db.inSavepoint {
                            resumes.append(try job.run(db))
                            return .commit
                        }
                    } catch {
                        resumes.append { job.fail(error) }
                    }
                }
                return .commit
            }
            return resumes
        } catch {
            return batch.map { job in { job.fail(error) } }
        }
    }
}
