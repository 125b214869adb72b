import Foundation
import Synchronization

/// A sustained rate and a burst, for `RateLimiter`.
public struct RateLimit: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Double

    public init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }
}

/// A token bucket per client: each request takes a token, tokens refill at `perSecond` up
/// to `burst`. Written here because none of the listed packages has one; it is a few lines.
/// Idle clients' buckets are dropped once full again, so memory follows active clients.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private struct Buckets {
        var byClient: [String: Bucket] = [:]
        /// The count at which idle buckets are next dropped: doubled past the live ones, so
        /// many active clients do not make every request scan them all.
        var pruneAt = 10_000
    }

    let limit: RateLimit
    private let buckets = Mutex(Buckets())
    private let clock = ContinuousClock()

    init(_ limit: RateLimit) {
        self.limit = limit
    }

    /// Takes a token for `client`: nil when allowed, else how long until one is free.
    func take(_ client: String) -> Duration? {
        let now = clock.now
        return buckets.withLock { buckets in
            if buckets.byClient.count > buckets.pruneAt {
                prune(&buckets.byClient, now: now)
                buckets.pruneAt = max(10_000, buckets.byClient.count * 2)
            }
            var bucket = buckets.byClient[client] ?? Bucket(tokens: limit.burst, updated: now)
            let elapsed = bucket.updated.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(limit.burst, bucket.tokens + seconds * limit.perSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets.byClient[client] = bucket
                return .seconds((1 - bucket.tokens) / limit.perSecond)
            }
            bucket.tokens -= 1
            buckets.byClient[client] = bucket
            return nil
        }
    }

    private func prune(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        let refill = Duration.seconds(limit.burst / limit.perSecond)
        buckets = buckets.filter { $0.value.updated.duration(to: now) < refill }
    }
}
