import AllotCore

/// How much the usage history holds, per tier.
public struct HistoryStatistics: Sendable, Equatable, Codable {
    public struct Tier: Sendable, Equatable, Codable {
        public var tier: Int
        public var chunks: Int
        public var points: Int
        /// Bytes of encoded points (the database adds its own overhead).
        public var bytes: Int

        public init(tier: Int, chunks: Int, points: Int, bytes: Int) {
            self.tier = tier
            self.chunks = chunks
            self.points = points
            self.bytes = bytes
        }
    }

    public var series: Int
    public var tiers: [Tier]
    /// The database file's size, when there is one.
    public var fileBytes: Int64?

    public init(series: Int, tiers: [Tier], fileBytes: Int64? = nil) {
        self.series = series
        self.tiers = tiers
        self.fileBytes = fileBytes
    }
}

/// Where the usage history's chunks live: apart from the job store, so that a burst of chunk writes never
/// waits behind (or holds up) a job's commit.
public protocol HistoryStore: Sendable {
    /// Writes chunks, each replacing the stored chunk with its series, tier and start. A chunk that starts
    /// before `continuingBefore` (it may have begun before a restart) keeps the stored chunk's points from before
    /// its own (see ``HistoryChunk/continuing(_:)``); later ones are whole in memory and are written as they are.
    func writeHistory(_ chunks: [HistoryChunk], continuingBefore: Double) async throws(StoreError)
    /// The chunks of a series in a tier whose start is in `starts`, oldest first.
    func historyChunks(series: String, tier: Int, starts: ClosedRange<Double>) async throws(StoreError) -> [HistoryChunk]
    /// Deletes the chunks of each tier that start before its cutoff; returns how many went.
    func pruneHistory(startsBefore cutoffs: [Int: Double]) async throws(StoreError) -> Int
    /// The series names that start with `prefix`, sorted.
    func historySeries(prefix: String) async throws(StoreError) -> [String]
    func historyStatistics() async throws(StoreError) -> HistoryStatistics
}

/// The reference history store, in memory.
public actor MemoryHistoryStore: HistoryStore {
    private var chunks: [String: [Int: [Double: HistoryChunk]]] = [:]

    public init() {}

    public func writeHistory(_ written: [HistoryChunk], continuingBefore: Double) {
        for chunk in written {
            let stored = chunk.start < continuingBefore ? chunks[chunk.series]?[chunk.tier]?[chunk.start] : nil
            chunks[chunk.series, default: [:]][chunk.tier, default: [:]][chunk.start] = stored.map { chunk.continuing($0) } ?? chunk
        }
    }

    public func historyChunks(series: String, tier: Int, starts: ClosedRange<Double>) -> [HistoryChunk] {
        (chunks[series]?[tier] ?? [:]).filter { starts.contains($0.key) }.sorted { $0.key < $1.key }.map(\.value)
    }

    public func pruneHistory(startsBefore cutoffs: [Int: Double]) -> Int {
        var removed = 0
        for series in chunks.keys {
            for (tier, cutoff) in cutoffs {
                guard let stored = chunks[series]?[tier] else { continue }
                let kept = stored.filter { $0.key >= cutoff }
                removed += stored.count - kept.count
                chunks[series]![tier] = kept
            }
        }
        return removed
    }

    public func historySeries(prefix: String) -> [String] {
        chunks.filter { $0.key.hasPrefix(prefix) && $0.value.values.contains { !$0.isEmpty } }.keys.sorted()
    }

    public func historyStatistics() -> HistoryStatistics {
        var tiers: [Int: HistoryStatistics.Tier] = [:]
        for byTier in chunks.values {
            for (tier, stored) in byTier {
                var totals = tiers[tier] ?? HistoryStatistics.Tier(tier: tier, chunks: 0, points: 0, bytes: 0)
                totals.chunks += stored.count
                for chunk in stored.values {
                    totals.points += chunk.points.count
                    totals.bytes += chunk.points.count * (tier == 0 ? 8 : 12)
                }
                tiers[tier] = totals
            }
        }
        return HistoryStatistics(series: historySeries(prefix: "").count, tiers: tiers.keys.sorted().map { tiers[$0]! })
    }
}
