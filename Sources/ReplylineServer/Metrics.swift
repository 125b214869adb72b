import Prometheus
import Synchronization

/// Replyline's Prometheus metrics, served at `/metrics` in the text exposition format.
public final class Metrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// The metrics every webhook updates, made once: the registry builds a name and takes
    /// its lock on each `make`, which showed in the webhook's profile.
    let webhookDurations: DurationHistogram
    let inboundByIntent = Mutex<[String: Counter]>([:])

    public init() {
        webhookDurations = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "replyline", metricName: "webhook_duration", unitName: "seconds",
                helpText: "Time from a webhook's arrival to its committed answer."),
            labels: [],
            buckets: [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50),
                .milliseconds(100), .milliseconds(500),
            ])
    }

    func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "replyline", metricName: name, unitName: "total", helpText: help), labels: labels)
    }

    /// An inbound message recorded (or a retry answered from the store).
    func inbound(intent: String, duplicate: Bool) {
        let label = duplicate ? "duplicate" : intent
        let inbound = inboundByIntent.withLock { counters in
            if let counter = counters[label] { return counter }
            let made = self.counter("inbound_messages", "Inbound messages by intent; duplicates are provider retries.", [("intent", label)])
            counters[label] = made
            return made
        }
        inbound.increment()
    }

    func webhookRefused(status: Int) {
        counter("webhook_refusals", "Webhook requests refused, by HTTP status.", [("status", String(status))]).increment()
    }

    func outbound(result: String) {
        counter(
            "outbound_messages", "Outbox send outcomes: sent, blocked, skipped, failed, retry, deferred, unknown.", [("result", result)]
        ).increment()
    }

    func statusCallback(status: String) {
        counter("status_callbacks", "Delivery-status callbacks by reported status.", [("status", status)]).increment()
    }

    func webhookDuration(_ duration: Duration) {
        webhookDurations.record(duration)
    }

    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
