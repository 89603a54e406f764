/// Usage samples kept as time series at several resolutions (see ``HistoryConfiguration``).
///
/// A pure state machine, like the scheduler: samples go in, and out come the chunks that closed, for a store
/// to keep. Only each series' open chunk per tier (and the bucket being averaged) lives here, so memory is
/// bounded by the number of live series; the store prunes chunks past their tier's retention, so disk is
/// bounded by series × retention.
public struct UsageHistory: Sendable {
    public let configuration: HistoryConfiguration

    struct Bucket: Sendable {
        var start: Double
        var sum: Double
        var count: Int
        var max: Double

        var point: HistoryPoint { HistoryPoint(time: start, mean: sum / Double(count), max: max) }
    }

    struct TierState: Sendable {
        var chunkStart: Double
        var points: [HistoryPoint] = []
        var bucket: Bucket?
        /// A point was added since the last checkpoint.
        var dirty = false
    }

    struct SeriesState: Sendable {
        var tiers: [TierState]
        var lastTime: Double
    }

    var series: [String: SeriesState] = [:]
    /// Samples taken since the start.
    public private(set) var samplesRecorded = 0

    public init(configuration: HistoryConfiguration = HistoryConfiguration()) {
        self.configuration = configuration
    }

    /// How many series have an open chunk.
    public var liveSeries: Int { series.count }

    /// The names of the series with an open chunk.
    public var seriesNames: [String] { Array(series.keys) }

    /// Adds a sample; returns the chunks it closed. A sample not later than the series' last one is ignored.
    public mutating func record(_ name: String, value: Double, at time: Double) -> [HistoryChunk] {
        guard value.isFinite, time.isFinite else { return [] }
        var closed: [HistoryChunk] = []
        var state =
            series[name]
            ?? SeriesState(
                tiers: configuration.tiers.map { TierState(chunkStart: Self.floor(time, $0.chunkSpan)) },
                lastTime: -.infinity
            )
        guard time > state.lastTime else { return [] }
        state.lastTime = time
        for (index, tier) in configuration.tiers.enumerated() {
            if tier.isRaw {
                append(HistoryPoint(time: time, value: value), to: &state.tiers[index], tier: index, name, &closed)
                continue
            }
            let start = Self.floor(time, tier.resolution)
            if let bucket = state.tiers[index].bucket, bucket.start != start {
                append(bucket.point, to: &state.tiers[index], tier: index, name, &closed)
                state.tiers[index].bucket = nil
            }
            var bucket = state.tiers[index].bucket ?? Bucket(start: start, sum: 0, count: 0, max: -.infinity)
            bucket.sum += value
            bucket.count += 1
            bucket.max = Swift.max(bucket.max, value)
            state.tiers[index].bucket = bucket
        }
        series[name] = state
        samplesRecorded += 1
        return closed
    }

    private func append(_ point: HistoryPoint, to state: inout TierState, tier: Int, _ name: String, _ closed: inout [HistoryChunk]) {
        let start = Self.floor(point.time, configuration.tiers[tier].chunkSpan)
        if start != state.chunkStart {
            if !state.points.isEmpty {
                closed.append(HistoryChunk(series: name, tier: tier, start: state.chunkStart, points: state.points))
            }
            state.chunkStart = start
            state.points = []
        }
        state.points.append(point)
        state.dirty = true
    }

    /// Closes every series silent since before `cutoff` (ended jobs, lost nodes) and forgets it; returns what
    /// it held, open buckets included.
    public mutating func closeSeries(silentBefore cutoff: Double) -> [HistoryChunk] {
        var closed: [HistoryChunk] = []
        for name in series.keys.sorted() where series[name]!.lastTime < cutoff {
            closed += chunks(of: name, series[name]!)
            series[name] = nil
        }
        return closed
    }

    /// Every open chunk with its open bucket as a last point: what a graceful stop writes. The store keeps a
    /// stored chunk's points that come before the written ones, so a chunk begun before a restart is
    /// continued, not replaced.
    public func openChunks() -> [HistoryChunk] {
        series.keys.sorted().flatMap { chunks(of: $0, series[$0]!) }
    }

    /// What a periodic checkpoint writes, so that a crash loses at most one checkpoint interval: the open
    /// chunks of tiers no coarser than `resolution` (raw and 1-minute for a 5-minute checkpoint), with their
    /// open buckets, and of coarser tiers only those that gained a point since the last checkpoint (an hour
    /// being averaged is not rewritten every few minutes).
    public mutating func checkpoint(bucketsUpTo resolution: Double) -> [HistoryChunk] {
        var result: [HistoryChunk] = []
        for name in series.keys.sorted() {
            var state = series[name]!
            for chunk in chunks(of: name, state) {
                let tier = configuration.tiers[chunk.tier]
                if tier.resolution <= resolution {
                    result.append(chunk)
                } else if state.tiers[chunk.tier].dirty {
                    // Without the open bucket: only the points that are final.
                    let final = chunk.points.filter { point in state.tiers[chunk.tier].points.contains { $0.time == point.time } }
                    if !final.isEmpty { result.append(HistoryChunk(series: name, tier: chunk.tier, start: chunk.start, points: final)) }
                }
            }
            for index in state.tiers.indices { state.tiers[index].dirty = false }
            series[name] = state
        }
        return result
    }

    private func chunks(of name: String, _ state: SeriesState) -> [HistoryChunk] {
        var result: [HistoryChunk] = []
        for (index, tier) in state.tiers.enumerated() {
            var points = tier.points
            var start = tier.chunkStart
            if let bucket = tier.bucket {
                let bucketChunk = Self.floor(bucket.start, configuration.tiers[index].chunkSpan)
                if bucketChunk != start {
                    if !points.isEmpty { result.append(HistoryChunk(series: name, tier: index, start: start, points: points)) }
                    points = []
                    start = bucketChunk
                }
                points.append(bucket.point)
            }
            if !points.isEmpty { result.append(HistoryChunk(series: name, tier: index, start: start, points: points)) }
        }
        return result
    }

    /// The points of a series in `from...to` from stored chunks and what is still open here (which wins for
    /// equal times), oldest first.
    public func points(_ name: String, tier: Int, from: Double, to: Double, stored: [HistoryChunk]) -> [HistoryPoint] {
        var byTime: [Int64: HistoryPoint] = [:]
        for chunk in stored where chunk.tier == tier && chunk.series == name {
            for point in chunk.points where point.time >= from && point.time <= to { byTime[Self.key(point.time)] = point }
        }
        if let state = series[name] {
            for chunk in chunks(of: name, state) where chunk.tier == tier {
                for point in chunk.points where point.time >= from && point.time <= to { byTime[Self.key(point.time)] = point }
            }
        }
        return byTime.values.sorted { $0.time < $1.time }
    }

    /// Stored times are 32-bit offsets: equal times are compared to the millisecond.
    static func key(_ time: Double) -> Int64 { Int64((time * 1000).rounded()) }

    /// The start of the interval of `length` holding `time`.
    static func floor(_ time: Double, _ length: Double) -> Double { (time / length).rounded(.down) * length }
}

extension HistoryChunk {
    /// This chunk's points, after the points of `earlier` (a stored version of the same chunk) that come
    /// before them.
    public func continuing(_ earlier: HistoryChunk) -> HistoryChunk {
        guard let first = points.first else { return earlier }
        var merged = self
        merged.points = earlier.points.filter { $0.time < first.time } + points
        return merged
    }
}
