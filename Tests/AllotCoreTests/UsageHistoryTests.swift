import Testing

@testable import AllotCore

/// A store of chunks as the real ones keep them: by series, tier and start, continuing stored chunks.
struct ChunkShelf {
    var chunks: [String: HistoryChunk] = [:]

    mutating func write(_ written: [HistoryChunk]) {
        for chunk in written {
            let key = "\(chunk.series)|\(chunk.tier)|\(chunk.start)"
            // Stored chunks come back through the 32-bit encoding, as from disk.
            let stored = HistoryChunk(series: chunk.series, tier: chunk.tier, start: chunk.start, encoded: chunk.encoded())!
            chunks[key] = chunks[key].map { stored.continuing($0) } ?? stored
        }
    }

    mutating func prune(_ configuration: HistoryConfiguration, now: Double) {
        chunks = chunks.filter { _, chunk in
            let tier = configuration.tiers[chunk.tier]
            return chunk.start + tier.chunkSpan > now - tier.retention
        }
    }

    func all(_ series: String) -> [HistoryChunk] { chunks.values.filter { $0.series == series } }
}

struct UsageHistoryTests {
    @Test func configurationParsesTiersAndRejectsBadOnes() throws {
        let parsed = try HistoryConfiguration.parse("raw=1d,1m=7d,1h=365d")
        #expect(parsed == HistoryConfiguration())
        #expect(parsed.tiers.map(\.name) == ["raw", "1m", "1h"])
        #expect(throws: QuantityError.self) { try HistoryConfiguration.parse("1h=7d,1m=30d") }
        #expect(throws: QuantityError.self) { try HistoryConfiguration.parse("1m") }
        #expect(throws: QuantityError.self) { try HistoryConfiguration.parse("1h=30m") }
        #expect(parsed.tier(covering: 1_000 - 3_600, now: 1_000) == 0)
        #expect(parsed.tier(covering: 1_000 - 3 * 86_400, now: 1_000) == 1)
        #expect(parsed.tier(covering: 1_000 - 30 * 86_400, now: 1_000) == 2)
    }

    @Test func chunksRoundTripThroughTheirEncoding() {
        let raw = HistoryChunk(
            series: "s",
            tier: 0,
            start: 600,
            points: [HistoryPoint(time: 601.5, value: 0.25), HistoryPoint(time: 611.5, value: 3e9)]
        )
        let decoded = HistoryChunk(series: "s", tier: 0, start: 600, encoded: raw.encoded())
        #expect(raw.encoded().count == 16)
        #expect(decoded == raw)
        let minute = HistoryChunk(series: "s", tier: 1, start: 3_600, points: [HistoryPoint(time: 3_660, mean: 0.5, max: 0.75)])
        #expect(HistoryChunk(series: "s", tier: 1, start: 3_600, encoded: minute.encoded()) == minute)
        #expect(HistoryChunk(series: "s", tier: 1, start: 0, encoded: [1, 2, 3]) == nil)
    }

    @Test func downsampledTiersHoldTheMeanAndMaxOfEachBucket() {
        var history = UsageHistory()
        var shelf = ChunkShelf()
        // Two hours of samples every 10 s: the value is the minute number, plus the second within the minute.
        for step in 0..<720 {
            let time = 1_000_000.0 + Double(step) * 10
            let minute = Double(step / 6)
            shelf.write(history.record("node/a/cpu", value: minute + Double(step % 6), at: time))
        }
        let end = 1_000_000.0 + 7_190
        let minutes = history.points("node/a/cpu", tier: 1, from: 0, to: end, stored: shelf.all("node/a/cpu"))
        #expect(minutes.count == 121)
        for (index, point) in minutes.enumerated() {
            // 1,000,000 is 40 s into a minute: the first bucket holds 2 samples, the others 6 (but the last).
            #expect(point.time == 999_960 + Double(index) * 60)
        }
        // A full bucket from step 2: values m+2...m+5 and m+1+0...m+1+1 for minute m.
        let second = minutes[1]
        let samples = (2..<8).map { step in Double(step / 6) + Double(step % 6) }
        #expect(abs(second.mean - samples.reduce(0, +) / 6) < 1e-5)
        #expect(second.max == samples.max())
        let hours = history.points("node/a/cpu", tier: 2, from: 0, to: end, stored: shelf.all("node/a/cpu"))
        #expect(hours.count == 3)
        #expect(hours.map(\.time) == [997_200, 1_000_800, 1_004_400])
        let all = (0..<720).map { Double($0 / 6) + Double($0 % 6) }
        let inFirstHour = (0..<((1_000_800 - 1_000_000) / 10)).map { all[$0] }
        #expect(abs(hours[0].mean - inFirstHour.reduce(0, +) / Double(inFirstHour.count)) < 1e-6)
        #expect(hours[0].max == inFirstHour.max())
        // Raw points come back exactly (to the 32-bit float), in order, stored or open.
        let raw = history.points("node/a/cpu", tier: 0, from: 0, to: end, stored: shelf.all("node/a/cpu"))
        #expect(raw.count == 720)
        #expect(zip(raw, all).allSatisfy { abs($0.mean - $1) < 1e-4 })
    }

    @Test func storageStaysWithinRetentionAndMemoryWithinOpenChunks() {
        let configuration = try! HistoryConfiguration.parse("raw=1h,1m=1d,1h=7d")
        var history = UsageHistory(configuration: configuration)
        var shelf = ChunkShelf()
        let series = ["node/a/cpu", "node/a/memory", "node/b/cpu"]
        var maxPoints = [0, 0, 0]
        // Ten simulated days of samples every 10 s, pruned every hour as the server does.
        for step in 0..<(10 * 8_640) {
            let time = Double(step) * 10
            for name in series { shelf.write(history.record(name, value: Double(step % 100) / 100, at: time)) }
            if step % 360 == 0 {
                shelf.prune(configuration, now: time)
                for tier in 0..<3 {
                    let points = shelf.chunks.values.filter { $0.tier == tier }.reduce(0) { $0 + $1.points.count }
                    maxPoints[tier] = max(maxPoints[tier], points)
                }
            }
        }
        // Per series: an hour of raw samples (360) plus one chunk being written; a day of minutes plus one
        // chunk; seven days of hours plus one chunk.
        #expect(maxPoints[0] <= 3 * (360 + 60))
        #expect(maxPoints[1] <= 3 * (1_440 + 60))
        #expect(maxPoints[2] <= 3 * (168 + 24))
        #expect(maxPoints[0] >= 3 * 360 - 3 * 60)
        #expect(history.liveSeries == 3)
        // A series that falls silent is closed and forgotten.
        let closed = history.closeSeries(silentBefore: 10 * 86_400 + 1)
        #expect(!closed.isEmpty)
        #expect(history.liveSeries == 0)
    }

    @Test func aChunkBegunBeforeARestartIsContinued() {
        var before = UsageHistory()
        var shelf = ChunkShelf()
        for step in 0..<30 { shelf.write(before.record("s", value: 1, at: Double(step) * 10)) }
        shelf.write(before.openChunks())
        var after = UsageHistory()
        for step in 30..<50 { shelf.write(after.record("s", value: 2, at: Double(step) * 10)) }
        shelf.write(after.openChunks())
        let raw = after.points("s", tier: 0, from: 0, to: 1_000, stored: shelf.all("s"))
        #expect(raw.count == 50)
        #expect(raw.prefix(30).allSatisfy { $0.mean == 1 } && raw.suffix(20).allSatisfy { $0.mean == 2 })
    }

    @Test func aCheckpointRewritesCoarseTiersOnlyWhenTheyGainedAPoint() {
        var history = UsageHistory()
        // 0 to 50 minutes every 10 s: no hour has closed.
        for step in 0..<300 { _ = history.record("s", value: 1, at: Double(step) * 10) }
        var written = history.checkpoint(bucketsUpTo: 300)
        #expect(Set(written.map(\.tier)) == [0, 1])
        #expect(written.first { $0.tier == 1 }?.points.count == 50)
        // Past the hour: the hour's point is final and written once, without the next hour's open bucket.
        for step in 300..<400 { _ = history.record("s", value: 1, at: Double(step) * 10) }
        written = history.checkpoint(bucketsUpTo: 300)
        let hours = written.filter { $0.tier == 2 }
        #expect(hours.map { $0.points.map(\.time) } == [[0]])
        #expect(history.checkpoint(bucketsUpTo: 300).allSatisfy { $0.tier != 2 })
    }

    @Test func idleIsASustainedLowStretchWithoutGaps() {
        let rule = IdleRule(threshold: 0.05, window: 1_800, maxGap: 60)
        let quiet = (0..<240).map { HistoryPoint(time: Double($0) * 10, value: 0.02) }
        let now = 2_395.0
        let finding = UsageDetectors.idle(quiet, now: now, rule: rule)
        #expect(finding?.since == 0)
        #expect(finding?.samples == 240)
        var spiked = quiet
        spiked[120] = HistoryPoint(time: 1_200, value: 0.3)
        // Idle only since 1,210 s: 1,185 s < 30 min.
        #expect(UsageDetectors.idle(spiked, now: now, rule: rule) == nil)
        var gapped = quiet
        gapped.removeSubrange(150..<170)
        #expect(UsageDetectors.idle(gapped, now: now, rule: rule) == nil)
        // A stale series (the agent stopped reporting) says nothing.
        #expect(UsageDetectors.idle(quiet, now: now + 600, rule: rule) == nil)
    }

    @Test func rightsizingSuggestsTheP95WithAMargin() {
        let used = (0..<100).map { Double(18 + $0 % 5) * Double(GiB) }
        let finding = UsageDetectors.rightsize(requested: Double(80 * GiB), used: used, step: Double(GiB))
        #expect(finding?.p95 == Double(22 * GiB))
        #expect(finding?.suggested == Double(27 * GiB))
        #expect(finding?.peak == Double(22 * GiB))
        #expect(UsageDetectors.rightsize(requested: Double(30 * GiB), used: used, step: Double(GiB)) == nil)
        #expect(UsageDetectors.rightsize(requested: Double(80 * GiB), used: Array(used.prefix(10)), step: Double(GiB)) == nil)
        #expect(UsageDetectors.percentile([1, 2, 3, 4], 0.5) == 2)
    }
}
