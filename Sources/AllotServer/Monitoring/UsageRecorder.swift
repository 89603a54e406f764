import AllotAPI
import AllotCore
import AllotStore
import HTTPTypes
import Logging

/// Keeps the usage history: takes samples from the control plane, writes the chunks that close, checkpoints
/// open chunks, forgets silent series and prunes what is past retention.
public actor UsageRecorder {
    let store: any HistoryStore
    var history: UsageHistory
    /// Chunks closed but not yet written.
    var closed: [HistoryChunk] = []
    var lastCheckpoint: Double?
    var lastPrune: Double?
    /// How often open chunks are written (a crash loses at most this much).
    let checkpointSeconds: Double
    /// A series with no sample for this long is closed and leaves memory.
    let silenceSeconds: Double
    /// The first sample's time: chunks that start before it may continue stored ones.
    var startedAt: Double?
    let logger: Logger

    public init(
        store: any HistoryStore,
        configuration: HistoryConfiguration = HistoryConfiguration(),
        checkpointSeconds: Double = 300,
        logger: Logger = Logger(label: "allot.history", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.store = store
        self.logger = logger
        history = UsageHistory(configuration: configuration)
        self.checkpointSeconds = checkpointSeconds
        silenceSeconds = max(600, configuration.tiers.first?.chunkSpan ?? 600)
    }

    public var configuration: HistoryConfiguration { history.configuration }

    /// Takes samples measured at `time`.
    public func record(_ samples: [(series: String, value: Double)], at time: Double) {
        if startedAt == nil { startedAt = time }
        for sample in samples { closed += history.record(sample.series, value: sample.value, at: time) }
    }

    /// Writes closed chunks; on their schedules checkpoints open chunks, closes silent series and prunes.
    public func maintain(now: Double) async {
        if let last = lastCheckpoint, now - last >= checkpointSeconds {
            closed += history.checkpoint(bucketsUpTo: checkpointSeconds)
            lastCheckpoint = now
        } else if lastCheckpoint == nil {
            lastCheckpoint = now
        }
        closed += history.closeSeries(silentBefore: now - silenceSeconds)
        await writeClosed()
        if now - (lastPrune ?? -.infinity) >= 600 {
            lastPrune = now
            var cutoffs: [Int: Double] = [:]
            for (index, tier) in history.configuration.tiers.enumerated() { cutoffs[index] = now - tier.retention - tier.chunkSpan }
            // A failed prune is tried again on the next schedule.
            do { _ = try await store.pruneHistory(startsBefore: cutoffs) } catch {
                logger.warning("usage history not pruned", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Writes everything held, open chunks included (graceful shutdown).
    public func checkpoint() async {
        closed += history.openChunks()
        await writeClosed()
    }

    private func writeClosed() async {
        guard !closed.isEmpty else { return }
        let batch = closed
        closed = []
        do { try await store.writeHistory(batch, continuingBefore: startedAt ?? .infinity) } catch {
            logger.warning("usage history not written; kept for the next try", metadata: ["chunks": "\(batch.count)", "error": "\(error)"])
            // Kept for the next attempt, within a bound: a store that stays down costs history, not memory.
            if closed.count + batch.count <= 1_000_000 { closed = batch + closed }
        }
    }

    /// A series' points in `from...to` at `resolution` (`raw`, `1m`, …), or the finest tier that still
    /// holds `from` when `nil`.
    public func view(_ series: String, from: Double, to: Double, resolution: String?, now: Double) async throws(APIError) -> HistoryView {
        let tiers = history.configuration.tiers
        let tier: Int
        if let resolution {
            guard let index = tiers.firstIndex(where: { $0.name == resolution }) else {
                // Well formed, but not a resolution this server keeps.
                throw APIError(
                    .unprocessableContent,
                    .invalidField,
                    "resolution: unknown resolution \"\(resolution)\" (use \(tiers.map(\.name).joined(separator: ", ")))"
                )
            }
            tier = index
        } else {
            tier = history.configuration.tier(covering: from, now: now)
        }
        let points = try await self.points(series, tier: tier, from: from, to: to)
        return HistoryView(
            series: series,
            resolution: tiers[tier].name,
            from: from,
            to: to,
            points: points.map { HistoryView.Point(time: $0.time, mean: $0.mean, max: $0.max) }
        )
    }

    /// Points of a series in one tier, stored and open.
    public func points(_ series: String, tier: Int, from: Double, to: Double) async throws(APIError) -> [HistoryPoint] {
        let span = history.configuration.tiers[tier].chunkSpan
        do {
            let stored = try await store.historyChunks(series: series, tier: tier, starts: (from - span)...max(from - span, to))
            return history.points(series, tier: tier, from: from, to: to, stored: stored)
        } catch {
            throw APIError.from(error)
        }
    }

    /// Series names under a prefix: stored ones and those only open so far.
    public func seriesNames(prefix: String) async throws(APIError) -> [String] {
        do {
            let stored = try await store.historySeries(prefix: prefix)
            return Array(Set(stored).union(history.seriesNames.filter { $0.hasPrefix(prefix) })).sorted()
        } catch {
            throw APIError.from(error)
        }
    }

    public func statistics() async -> (stored: HistoryStatistics?, liveSeries: Int, samples: Int) {
        let stored: HistoryStatistics?
        do { stored = try await store.historyStatistics() } catch {
            logger.warning("usage history statistics not read", metadata: ["error": "\(error)"])
            stored = nil
        }
        return (stored, history.liveSeries, history.samplesRecorded)
    }
}
