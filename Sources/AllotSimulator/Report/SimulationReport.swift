import AllotCore
import Foundation

/// A self-contained HTML report of a simulation: settings, the comparison table, and four SVG plots
/// (cluster utilization over time, JCT CDF per policy, queue length over time, per-tenant GPU share).
/// No script, stylesheet or font is fetched: it opens offline.
public struct SimulationReport {
    public var summary: SimulationSummary
    public var title: String
    /// Points per time-series line.
    public var buckets = 300

    public init(summary: SimulationSummary, title: String) {
        self.summary = summary
        self.title = title
    }

    /// The plot titles, in page order.
    public static let plots = ["Cluster GPU utilization over time", "Job completion time CDF", "Queue length over time", "GPU-time share by tenant"]

    public func html() -> String {
        let end = summary.metrics.map(\.makespan).max() ?? 0
        let hours = 3600.0
        var utilization: [SVGChart.Series] = []
        var queue: [SVGChart.Series] = []
        var cdf: [SVGChart.Series] = []
        for run in summary.runs {
            let name = run.policy.rawValue
            let busy = Self.bucketed(run.timeline.times, run.timeline.busyGPUs.map(Double.init), end: end, buckets: buckets)
            let total = Double(max(run.totalGPUs, 1))
            utilization.append(.init(name: name, points: busy.map { ($0.x / hours, $0.y / total * 100) }))
            let queued = Self.bucketed(run.timeline.times, run.timeline.queuedJobs.map(Double.init), end: end, buckets: buckets)
            queue.append(.init(name: name, points: queued.map { ($0.x / hours, $0.y) }))
            cdf.append(.init(name: name, points: Self.cdf(run.jobs.map(\.completionTime), points: buckets)))
        }
        let charts = [
            SVGChart(title: Self.plots[0], xLabel: "hours since the first submission", yLabel: "busy GPUs (%)")
                .lines(utilization, yMax: 100),
            SVGChart(title: Self.plots[1], xLabel: "job completion time (s, log scale)", yLabel: "fraction of jobs")
                .lines(cdf, logX: true, yMax: 1),
            SVGChart(title: Self.plots[2], xLabel: "hours since the first submission", yLabel: "queued jobs").lines(queue),
            tenantChart(),
        ]
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>\(escapeHTML(title))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
            table{border-collapse:collapse;margin:12px 0}th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}
            th:first-child,td:first-child{text-align:left}figure{margin:18px 0}svg{max-width:100%;height:auto}
            .notes{color:#555;font-size:90%}
            </style></head><body>
            <h1>\(escapeHTML(title))</h1>
            <p>\(escapeHTML(summary.trace.format.rawValue)) trace, \(summary.trace.jobs.count) jobs on \(escapeHTML(summary.clusterDescription)); preemption cost \(Quantity.format(summary.setup.preemptionCost)) s, seed \(summary.setup.seed).</p>

            """
        page += table()
        page += "<ul class=\"notes\">" + summary.trace.notes.map { "<li>\(escapeHTML($0))</li>" }.joined()
        page += summary.runs.map { "<li>\($0.policy.rawValue): \(escapeHTML($0.policy.summary))</li>" }.joined() + "</ul>\n"
        for chart in charts { page += "<figure>\(chart)</figure>\n" }
        page += "</body></html>\n"
        return page
    }

    private func table() -> String {
        let headers = [
            "policy", "jobs", "avg JCT (s)", "p50 JCT", "p95 JCT", "p99 JCT", "avg wait (s)", "makespan (s)", "GPU util", "preemptions", "Jain",
        ]
        var rows = "<table><thead><tr>" + headers.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>"
        for entry in summary.metrics {
            let cells = [
                entry.policy, String(entry.jobs), whole(entry.averageJCT), whole(entry.p50JCT), whole(entry.p95JCT), whole(entry.p99JCT),
                whole(entry.averageQueueingDelay), whole(entry.makespan), String(format: "%.1f%%", entry.gpuUtilization * 100),
                String(entry.preemptions), String(format: "%.3f", entry.jainFairness),
            ]
            rows += "<tr>" + cells.map { "<td>\(escapeHTML($0))</td>" }.joined() + "</tr>"
        }
        rows += "</tbody></table>\n"
        if let first = summary.metrics.first {
            rows += "<p>Bounds: makespan ≥ \(whole(first.makespanBound)) s; average JCT ≥ \(whole(first.averageJCTBound)) s (mean duration).</p>\n"
        }
        return rows
    }

    private func whole(_ value: Double) -> String { String(Int(value.rounded())) }

    /// Each policy's GPU-seconds split by tenant: the eight largest tenants (by the first policy) and the rest.
    private func tenantChart() -> String {
        var perRun: [[String: Double]] = []
        for run in summary.runs {
            var current = Array(repeating: 0, count: run.tenants.count)
            var seconds = Array(repeating: 0.0, count: run.tenants.count)
            var last = 0.0
            var busy = 0
            var total = 0.0
            for change in run.timeline.tenantChanges {
                if change.time > last {
                    for (tenant, gpus) in current.enumerated() where gpus > 0 { seconds[tenant] += Double(gpus) * (change.time - last) }
                    total += Double(busy) * (change.time - last)
                    last = change.time
                }
                current[change.tenant] += change.delta
                busy += change.delta
            }
            var shares: [String: Double] = [:]
            for (tenant, value) in seconds.enumerated() where total > 0 { shares[run.tenants[tenant]] = value / total }
            perRun.append(shares)
        }
        let reference = perRun.first ?? [:]
        let top = reference.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(8).map(\.key)
        let names = top + (reference.count > top.count ? ["other"] : [])
        let rows = zip(summary.runs, perRun).map { run, shares in
            let named = top.map { shares[$0] ?? 0 }
            let rest = shares.filter { !top.contains($0.key) }.sorted { $0.key < $1.key }.reduce(0) { $0 + $1.value }
            return (label: run.policy.rawValue, segments: named + (names.count > top.count ? [rest] : []))
        }
        var chart = SVGChart(title: Self.plots[3], xLabel: "share of busy GPU-seconds", yLabel: "")
        chart.height = max(140, 80 + Double(rows.count) * 34)
        return chart.stackedBars(rows: rows, segmentNames: names)
    }

    /// The time-weighted mean of a step series (each value holds until the next time) in `buckets` equal spans of [0, end].
    static func bucketed(_ times: [Double], _ values: [Double], end: Double, buckets: Int) -> [(x: Double, y: Double)] {
        guard end > 0, buckets > 0, !times.isEmpty else { return [] }
        let width = end / Double(buckets)
        var sums = Array(repeating: 0.0, count: buckets)
        for index in times.indices {
            var from = times[index]
            let to = min(index + 1 < times.count ? times[index + 1] : end, end)
            while from < to {
                let bucket = min(Int(from / width), buckets - 1)
                let edge = min(Double(bucket + 1) * width, to)
                sums[bucket] += values[index] * (edge - from)
                if edge <= from { break }
                from = edge
            }
        }
        return sums.enumerated().map { (Double($0.offset) * width + width / 2, $0.element / width) }
    }

    /// Points of the empirical CDF, at most `points` of them.
    static func cdf(_ values: [Double], points: Int) -> [(x: Double, y: Double)] {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return [] }
        let step = max(1, sorted.count / points)
        var result: [(Double, Double)] = []
        var index = step - 1
        while index < sorted.count {
            result.append((sorted[index], Double(index + 1) / Double(sorted.count)))
            index += step
        }
        if result.last?.0 != sorted.last! || result.last?.1 != 1 { result.append((sorted.last!, 1)) }
        return result
    }
}
