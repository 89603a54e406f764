import AllotCore
import AllotStore
import AllotStoreSQLite
import Foundation
import Testing

extension Backend {
    func makeHistory() throws -> any HistoryStore {
        switch self {
        case .memory: return MemoryHistoryStore()
        // A server on PostgreSQL keeps its usage history in a local SQLite file too.
        case .sqlite, .postgres: return try SQLiteHistoryStore(path: temporaryDatabase() + ".history")
        }
    }
}

@Suite struct HistoryStoreTests {
    func chunk(_ series: String, tier: Int = 0, start: Double, _ values: [(Double, Double)]) -> HistoryChunk {
        HistoryChunk(series: series, tier: tier, start: start, points: values.map { HistoryPoint(time: $0.0, value: $0.1) })
    }

    @Test(arguments: [Backend.memory, .sqlite]) func chunksAreKeptContinuedAndPruned(_ backend: Backend) async throws {
        let store = try backend.makeHistory()
        try await store.writeHistory(
            [
                chunk("node/a/cpu", start: 0, [(1, 0.5), (11, 0.25)]),
                chunk("node/a/cpu", start: 600, [(601, 0.75)]),
                chunk("node/b/cpu", start: 0, [(2, 1)]),
                chunk("node/a/cpu", tier: 1, start: 0, [(0, 0.5)]),
            ],
            continuingBefore: 1_000
        )
        // A later write of the same chunk from its first new point on keeps what came before it.
        try await store.writeHistory([chunk("node/a/cpu", start: 0, [(11, 0.3), (21, 0.4)])], continuingBefore: 1_000)
        let first = try await store.historyChunks(series: "node/a/cpu", tier: 0, starts: 0...600)
        #expect(first.map(\.start) == [0, 600])
        #expect(first[0].points.map(\.time) == [1, 11, 21])
        #expect(zip(first[0].points.map(\.mean), [0.5, 0.3, 0.4]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(try await store.historyChunks(series: "node/a/cpu", tier: 0, starts: 300...900).map(\.start) == [600])
        // A chunk begun in this process is whole in memory: it replaces without continuing.
        try await store.writeHistory([chunk("node/a/cpu", start: 600, [(611, 1)])], continuingBefore: 600)
        #expect(try await store.historyChunks(series: "node/a/cpu", tier: 0, starts: 600...600).first?.points.map(\.time) == [611])
        try await store.writeHistory([chunk("node/a/cpu", start: 600, [(601, 0.75), (611, 1)])], continuingBefore: 600)
        #expect(try await store.historySeries(prefix: "node/a/") == ["node/a/cpu"])
        #expect(try await store.historySeries(prefix: "node/") == ["node/a/cpu", "node/b/cpu"])
        // Wildcards in a prefix are literal.
        #expect(try await store.historySeries(prefix: "node/%").isEmpty)

        let statistics = try await store.historyStatistics()
        #expect(statistics.series == 2)
        #expect(statistics.tiers.map(\.chunks) == [3, 1])
        #expect(statistics.tiers.map(\.points) == [6, 1])
        #expect(statistics.tiers[0].bytes == 48)

        #expect(try await store.pruneHistory(startsBefore: [0: 600, 1: 0]) == 2)
        #expect(try await store.historyChunks(series: "node/a/cpu", tier: 0, starts: 0...600).map(\.start) == [600])
        #expect(try await store.historySeries(prefix: "") == ["node/a/cpu"])
        #expect(try await store.historyChunks(series: "node/a/cpu", tier: 1, starts: 0...0).count == 1)
    }
}
