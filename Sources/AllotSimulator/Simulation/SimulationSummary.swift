import AllotCore

/// Every policy's run on one trace and cluster, as a table or a document.
public struct SimulationSummary: Sendable {
    public var trace: Trace
    public var setup: SimulationSetup
    public var runs: [SimulationRun]
    public var metrics: [SimulationMetrics]
    /// Seconds each run took on the host (not part of the deterministic output).
    public var wallSeconds: [Double]

    public init(trace: Trace, setup: SimulationSetup, runs: [SimulationRun], wallSeconds: [Double] = []) {
        self.trace = trace
        self.setup = setup
        self.runs = runs
        self.metrics = runs.map(SimulationMetrics.init)
        self.wallSeconds = wallSeconds
    }

    /// The JSON document of `allot simulate --output json`.
    public struct Document: Codable, Sendable, Equatable {
        public var format: String
        public var traceJobs: Int
        public var nodes: Int
        public var gpus: Int
        public var preemptionCost: Double
        public var seed: UInt64
        public var notes: [String]
        public var policies: [SimulationMetrics]
    }

    public var document: Document {
        Document(
            format: trace.format.rawValue,
            traceJobs: trace.jobs.count,
            nodes: setup.nodes.count,
            gpus: setup.totalGPUs,
            preemptionCost: setup.preemptionCost,
            seed: setup.seed,
            notes: trace.notes,
            policies: metrics
        )
    }

    public var clusterDescription: String {
        let cpu = setup.nodes.reduce(Int64(0)) { $0 + $1.capacity.cpuMillis }
        let memory = setup.nodes.reduce(Int64(0)) { $0 + $1.capacity.memoryBytes }
        return "\(setup.nodes.count) nodes, \(setup.totalGPUs) GPUs, \(Quantity.formatCPU(cpu)) cores, \(Quantity.formatBytes(memory))"
    }

    /// The comparison table, one row per policy, then the bounds.
    public func table() -> String {
        let headers = ["POLICY", "JOBS", "AVG JCT", "P50 JCT", "P95 JCT", "P99 JCT", "AVG WAIT", "MAKESPAN", "GPU UTIL", "PREEMPT", "JAIN"]
        var rows = [headers]
        for entry in metrics {
            rows.append([
                entry.policy, String(entry.jobs), seconds(entry.averageJCT), seconds(entry.p50JCT), seconds(entry.p95JCT),
                seconds(entry.p99JCT), seconds(entry.averageQueueingDelay), seconds(entry.makespan),
                Quantity.format((entry.gpuUtilization * 1000).rounded() / 10) + "%", String(entry.preemptions),
                Quantity.format((entry.jainFairness * 1000).rounded() / 1000),
            ])
        }
        var widths = headers.map(\.count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        var lines = rows.map { row in
            row.enumerated().map { index, cell in
                index == 0 ? cell.padding(widths[index]) : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }
        lines.insert("\(trace.format.rawValue) trace, \(trace.jobs.count) jobs on \(clusterDescription)", at: 0)
        if let first = metrics.first {
            lines.append(
                "bounds: makespan >= \(seconds(first.makespanBound)), average JCT >= \(seconds(first.averageJCTBound)) (mean duration)"
            )
        }
        for entry in metrics where entry.rejected > 0 || entry.unfinished > 0 {
            lines.append("\(entry.policy): \(entry.rejected) rejected (do not fit the cluster), \(entry.unfinished) unfinished")
        }
        return lines.joined(separator: "\n")
    }

    private func seconds(_ value: Double) -> String { String(Int(value.rounded())) + " s" }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
