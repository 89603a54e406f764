import Testing

@testable import AllotCore

struct CostAccountingTests {
    let hour = 3_600.0

    func total(_ entries: [CostEntry], job: String?) -> Double {
        entries.filter { $0.job == job }.map(\.cost).reduce(0, +)
    }

    @Test func gpuJobsPayTheirGPUFractionAndTheRestIsIdle() {
        // 8 GPUs at $8/h for 2 h: A holds 4 GPUs for the first hour, B 2 GPUs for both.
        let node = BilledNode(node: "g", start: 0, end: 2 * hour, hourlyPrice: 8, cpuMillis: 96_000, memoryBytes: 1 << 40, gpus: 8)
        let a = BilledAllocation(job: "a", node: "g", start: 0, end: hour, cpuMillis: 48_000, memoryBytes: 1 << 39, gpus: 4)
        let b = BilledAllocation(job: "b", node: "g", start: 0, end: 2 * hour, cpuMillis: 1_000, memoryBytes: 1 << 30, gpus: 2)
        let entries = CostAccounting.entries(nodes: [node], allocations: [a, b], from: 0, to: 2 * hour)
        #expect(abs(total(entries, job: "a") - 4) < 1e-9)
        #expect(abs(total(entries, job: "b") - 4) < 1e-9)
        #expect(abs(total(entries, job: nil) - 8) < 1e-9)
        // Idle GPU-seconds: 2 GPUs in the first hour, 6 in the second.
        #expect(entries.first { $0.job == nil }?.gpuSeconds == 8 * hour)
        #expect(entries.first { $0.job == "a" }?.gpuSeconds == 4 * hour)
    }

    @Test func cpuJobsPayTheirDominantShareScaledToTheWholeNode() {
        // 10 cores, 100 GiB at $1/h. c: 5 cores and 10 GiB (dominant 0.5); m: 1 core and 80 GiB (0.8): 1.3 in all,
        // scaled to 1, so nothing is idle while both run.
        let node = BilledNode(node: "c", start: 0, end: hour, hourlyPrice: 1, cpuMillis: 10_000, memoryBytes: 100 << 30, gpus: 0)
        let c = BilledAllocation(job: "c", node: "c", start: 0, end: hour, cpuMillis: 5_000, memoryBytes: 10 << 30, gpus: 0)
        let m = BilledAllocation(job: "m", node: "c", start: 0, end: hour, cpuMillis: 1_000, memoryBytes: 80 << 30, gpus: 0)
        let entries = CostAccounting.entries(nodes: [node], allocations: [c, m], from: 0, to: hour)
        #expect(abs(total(entries, job: "c") - 0.5 / 1.3) < 1e-12)
        #expect(abs(total(entries, job: "m") - 0.8 / 1.3) < 1e-12)
        #expect(abs(total(entries, job: nil)) < 1e-12)
        // A CPU job on a GPU node pays its dominant CPU/memory share.
        let gpuNode = BilledNode(node: "g", start: 0, end: hour, hourlyPrice: 10, cpuMillis: 10_000, memoryBytes: 100 << 30, gpus: 4)
        let cpuOnly = BilledAllocation(job: "x", node: "g", start: 0, end: hour, cpuMillis: 2_000, memoryBytes: 1 << 30, gpus: 0)
        #expect(abs(CostAccounting.share(of: cpuOnly, on: gpuNode) - 0.2) < 1e-12)
    }

    @Test func entriesSplitAtMidnightAndTheWindowClipsThem() {
        let day = CostAccounting.secondsPerDay
        let node = BilledNode(node: "n", start: day - hour, end: day + 2 * hour, hourlyPrice: 2, cpuMillis: 1_000, memoryBytes: 1 << 30, gpus: 0)
        let job = BilledAllocation(job: "j", node: "n", start: day - hour, end: day + hour, cpuMillis: 1_000, memoryBytes: 1 << 30, gpus: 0)
        let entries = CostAccounting.entries(nodes: [node], allocations: [job], from: 0, to: 10 * day)
        #expect(entries.map(\.day) == [0, 1, 1])
        #expect(entries.map(\.job) == ["j", "j", nil])
        #expect(entries.map(\.cost) == [2, 2, 2])
        let clipped = CostAccounting.entries(nodes: [node], allocations: [job], from: day, to: day + 30 * 60)
        #expect(clipped.map(\.cost) == [1])
        // A job on a node without a billed span costs nothing.
        #expect(CostAccounting.entries(nodes: [], allocations: [job], from: 0, to: day).isEmpty)
    }

    @Test func jobsPlusIdleEqualNodePricesOverTimeToTheCent() {
        var random = SplitMix64(seed: 42)
        func uniform(_ range: Double) -> Double { Double(random.next() % 1_000_000) / 1_000_000 * range }
        var nodes: [BilledNode] = []
        var allocations: [BilledAllocation] = []
        for n in 0..<20 {
            let gpus = n % 3 == 0 ? 0 : 8
            var time = uniform(86_400)
            for _ in 0..<3 {
                let end = time + 3_600 + uniform(3 * 86_400)
                nodes.append(
                    BilledNode(
                        node: "n\(n)",
                        start: time,
                        end: end,
                        hourlyPrice: 0.1 + uniform(40),
                        cpuMillis: 64_000,
                        memoryBytes: 512 << 30,
                        gpus: gpus
                    )
                )
                time = end + uniform(20_000)
            }
            for j in 0..<60 {
                let start = uniform(5 * 86_400)
                allocations.append(
                    BilledAllocation(
                        job: "j\(n)-\(j)",
                        node: "n\(n)",
                        start: start,
                        end: start + uniform(40_000),
                        cpuMillis: Int64(uniform(16_000)),
                        memoryBytes: Int64(uniform(64)) << 30,
                        gpus: gpus == 0 ? 0 : Double(1 + random.next() % 4)
                    )
                )
            }
        }
        let from = 3_600.0
        let to = 4 * 86_400.0
        let entries = CostAccounting.entries(nodes: nodes, allocations: allocations, from: from, to: to)
        let expected = nodes.map { $0.hourlyPrice * max(0, min($0.end, to) - max($0.start, from)) / 3_600 }.reduce(0, +)
        let accounted = entries.map(\.cost).reduce(0, +)
        #expect(abs(accounted - expected) < 1e-6)
        #expect(entries.allSatisfy { $0.cost >= -1e-9 })
        // Rounded to cents, the per-job and idle amounts add up to the rounded total exactly.
        let perJob = Dictionary(grouping: entries, by: { $0.job ?? "idle" }).mapValues { $0.map(\.cost).reduce(0, +) }
        let cents = CostAccounting.cents(Array(perJob.values))
        #expect(cents.reduce(0, +) == Int64((expected * 100).rounded()))
    }

    @Test func centsKeepTheTotal() {
        #expect(CostAccounting.cents([0.333, 0.333, 0.334]) == [33, 33, 34])
        #expect(CostAccounting.cents([1.005, 2.005, 3.005]).reduce(0, +) == 602)
        #expect(CostAccounting.cents([]) == [])
    }
}
