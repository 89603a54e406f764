import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// One gauge value for an exposition: name (with its unit), help, labels.
public struct GaugeSample: Sendable {
    public var name: String
    public var help: String
    public var labels: [(String, String)]
    public var value: Double

    public init(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Double) {
        self.name = name
        self.help = help
        self.labels = labels
        self.value = value
    }
}

/// The server's Prometheus metrics: histograms and counters recorded as things happen (through swift-metrics
/// handlers on this server's own registry, so several servers in one process never share one), and gauges
/// of the cluster's state set when `/metrics` is scraped.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    let cycleDuration: CoreMetrics.Timer
    let storeCommitDuration: CoreMetrics.Timer
    let queueWait: CoreMetrics.Timer
    /// Commits the store refused (each one undid its batch and answered its callers `503`).
    let storeCommitFailures: CoreMetrics.Counter
    private let gauges = Mutex<[String: Prometheus.Gauge]>([:])

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fine: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5),
        ]
        let waits: [Duration] = [
            .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3_600), .seconds(14_400), .seconds(86_400),
        ]
        factory.durationHistogramBuckets = [
            "allot_scheduling_cycle_duration_seconds": fine,
            "allot_store_commit_duration_seconds": fine,
            "allot_http_request_duration_seconds": fine,
            "allot_job_queue_wait_seconds": waits,
        ]
        self.factory = factory
        cycleDuration = CoreMetrics.Timer(label: "allot_scheduling_cycle_duration_seconds", factory: factory)
        storeCommitDuration = CoreMetrics.Timer(label: "allot_store_commit_duration_seconds", factory: factory)
        queueWait = CoreMetrics.Timer(label: "allot_job_queue_wait_seconds", factory: factory)
        storeCommitFailures = CoreMetrics.Counter(label: "allot_store_commit_failures_total", factory: factory)
    }

    /// Counts an API request and records its latency, by method, route template and status.
    public func request(method: String, route: String, status: Int, duration: Duration) {
        CoreMetrics.Counter(
            label: "allot_http_requests_total",
            dimensions: [("method", method), ("route", route), ("status", String(status))],
            factory: factory
        ).increment()
        CoreMetrics.Timer(label: "allot_http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: factory)
            .record(duration: duration)
    }

    /// Counts a commit the store refused.
    func storeCommitFailed() { storeCommitFailures.increment() }

    func record(_ timer: CoreMetrics.Timer, since start: ContinuousClock.Instant) { timer.record(duration: ContinuousClock.now - start) }

    /// Sets the gauges to `samples` (removing label sets no longer present) and renders the exposition.
    public func exposition(_ samples: [GaugeSample]) -> String {
        gauges.withLock { gauges in
            var seen: Set<String> = []
            for sample in samples {
                let key = sample.name + "{" + sample.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
                seen.insert(key)
                let gauge =
                    gauges[key]
                    ?? registry.makeGauge(
                        descriptor: MetricNameDescriptor(metricName: sample.name, unitName: "", helpText: sample.help),
                        labels: sample.labels
                    )
                gauges[key] = gauge
                gauge.set(sample.value)
            }
            for (key, gauge) in gauges where !seen.contains(key) {
                registry.unregisterGauge(gauge)
                gauges[key] = nil
            }
        }
        return registry.emitToString()
    }
}

extension CoreMetrics.Timer {
    func record(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
