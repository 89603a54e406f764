import AllotCore
import AllotStore
import Foundation
import GRDB

/// The usage history in its own SQLite file (WAL, `synchronous = NORMAL`: a crash may lose the last
/// checkpoint, never corrupt the file). A chunk is one row: its series' number, tier and start as the key,
/// its points as a blob of 32-bit floats.
public final class SQLiteHistoryStore: HistoryStore {
    private let pool: DatabasePool
    private let path: String

    public init(path: String) throws(StoreError) {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA busy_timeout = 5000")
        }
        PrivateFiles.prepare(database: path)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1: usage history") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE series (
                            id INTEGER PRIMARY KEY,
                            name TEXT NOT NULL UNIQUE
                        );
                        CREATE TABLE chunk (
                            series INTEGER NOT NULL REFERENCES series (id),
                            tier INTEGER NOT NULL,
                            start REAL NOT NULL,
                            points BLOB NOT NULL,
                            PRIMARY KEY (series, tier, start)
                        ) WITHOUT ROWID;
                        CREATE INDEX chunk_by_start ON chunk (tier, start);
                        """
                )
            }
            try migrator.migrate(pool)
        } catch {
            throw StoreError(.database, "cannot open the history database at \(path): \(error)")
        }
    }

    public func writeHistory(_ chunks: [HistoryChunk], continuingBefore: Double) async throws(StoreError) {
        guard !chunks.isEmpty else { return }
        try await write { db in
            let findSeries = try db.cachedStatement(sql: "SELECT id FROM series WHERE name = ?")
            let addSeries = try db.cachedStatement(sql: "INSERT INTO series (name) VALUES (?)")
            let findChunk = try db.cachedStatement(sql: "SELECT points FROM chunk WHERE series = ? AND tier = ? AND start = ?")
            let putChunk = try db.cachedStatement(sql: "INSERT OR REPLACE INTO chunk (series, tier, start, points) VALUES (?, ?, ?, ?)")
            var ids: [String: Int64] = [:]
            for chunk in chunks {
                let id: Int64
                if let known = ids[chunk.series] {
                    id = known
                } else if let stored = try Int64.fetchOne(findSeries, arguments: [chunk.series]) {
                    id = stored
                } else {
                    try addSeries.execute(arguments: [chunk.series])
                    id = db.lastInsertedRowID
                }
                ids[chunk.series] = id
                var written = chunk
                if chunk.start < continuingBefore, let bytes = try Data.fetchOne(findChunk, arguments: [id, chunk.tier, chunk.start]),
                    let stored = HistoryChunk(series: chunk.series, tier: chunk.tier, start: chunk.start, encoded: [UInt8](bytes))
                {
                    written = chunk.continuing(stored)
                }
                try putChunk.execute(arguments: [id, chunk.tier, chunk.start, Data(written.encoded())])
            }
        }
    }

    public func historyChunks(series: String, tier: Int, starts: ClosedRange<Double>) async throws(StoreError) -> [HistoryChunk] {
        let rows = try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT chunk.start, chunk.points FROM chunk JOIN series ON series.id = chunk.series
                    WHERE series.name = ? AND chunk.tier = ? AND chunk.start BETWEEN ? AND ? ORDER BY chunk.start
                    """,
                arguments: [series, tier, starts.lowerBound, starts.upperBound]
            ).map { row in (row[0] as Double, row[1] as Data) }
        }
        var chunks: [HistoryChunk] = []
        for (start, bytes) in rows {
            guard let chunk = HistoryChunk(series: series, tier: tier, start: start, encoded: [UInt8](bytes)) else {
                throw StoreError(.corrupt, "history chunk \(series) tier \(tier) at \(start) has a bad length")
            }
            chunks.append(chunk)
        }
        return chunks
    }

    public func pruneHistory(startsBefore cutoffs: [Int: Double]) async throws(StoreError) -> Int {
        try await write { db in
            var removed = 0
            for (tier, cutoff) in cutoffs.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: "DELETE FROM chunk WHERE tier = ? AND start < ?", arguments: [tier, cutoff])
                removed += db.changesCount
            }
            try db.execute(sql: "DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM chunk WHERE chunk.series = series.id)")
            return removed
        }
    }

    public func historySeries(prefix: String) async throws(StoreError) -> [String] {
        let pattern =
            prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        return try await read { db in
            try String.fetchAll(db, sql: "SELECT name FROM series WHERE name LIKE ? ESCAPE '\\' ORDER BY name", arguments: [pattern])
        }
    }

    public func historyStatistics() async throws(StoreError) -> HistoryStatistics {
        let (series, rows) = try await read { db in
            let series = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM series") ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT tier, COUNT(*), COALESCE(SUM(LENGTH(points)), 0) FROM chunk GROUP BY tier ORDER BY tier")
                .map { row in (row[0] as Int, row[1] as Int, row[2] as Int) }
            return (series, rows)
        }
        let size = ["", "-wal"].compactMap { suffix in
            (try? FileManager.default.attributesOfItem(atPath: path + suffix))?[.size] as? Int64
        }.reduce(0, +)
        return HistoryStatistics(
            series: series,
            tiers: rows.map { tier, chunks, bytes in
                HistoryStatistics.Tier(tier: tier, chunks: chunks, points: bytes / (tier == 0 ? 8 : 12), bytes: bytes)
            },
            fileBytes: size
        )
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw StoreError(.database, "history write failed: \(error)")
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError(.database, "history read failed: \(error)")
        }
    }
}
