import Foundation
import NIOCore
import Synchronization

/// What a sync does to one object, and why.
public struct SyncAction: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case copy, delete, skip }
    public var kind: Kind
    public var key: String
    public var size: Int64
    /// `missing`, `size differs`, `checksum differs`, `same size and checksum`, `not in the source`.
    public var reason: String
    /// The source's MD5 when its listing gave one.
    public var md5: String?
}

/// How far a sync has come.
public struct SyncProgress: Sendable {
    public var objectsDone: Int
    public var objects: Int
    public var bytesDone: Int64
    public var bytes: Int64
}

/// What a sync did.
public struct SyncSummary: Sendable, Codable, Equatable {
    public var source: String
    public var destination: String
    public var copied: Int
    public var skipped: Int
    public var deleted: Int
    public var bytes: Int64
    /// Bytes of large objects an earlier, interrupted run had already stored (not sent again).
    public var resumedBytes: Int64 = 0
    public var seconds: Double
    /// Objects that failed, with the error.
    public var failed: [String: String]
    public var dryRun: Bool
    /// What a dry run would do (empty otherwise).
    public var actions: [SyncAction]

    public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / 1_000_000 / seconds : 0 }
}

/// Makes a destination hold what a source holds: copies what is missing or differs by size or MD5, verifies
/// each copy's checksum at the destination, deletes what the source lacks when asked. Objects up to the
/// destination's part size move in one request; larger ones in parts, read by range from the source, so no
/// whole large object is ever in memory, and an upload an earlier run left unfinished is resumed.
public struct Syncer: Sendable {
    public var source: any ObjectStore
    public var destination: any ObjectStore
    /// Objects in flight at once.
    public var jobs: Int
    public var deleteExtra: Bool
    /// Tries per request for errors that may pass.
    public var attempts: Int = 4
    /// Parts of one large object read and written at once (each holds one part in memory).
    static let partsInFlight = 4
    /// Only these source keys, when given (one object out of a prefix).
    public var only: Set<String>?

    public init(source: any ObjectStore, destination: any ObjectStore, jobs: Int = 8, deleteExtra: Bool = false) {
        self.source = source
        self.destination = destination
        self.jobs = max(1, jobs)
        self.deleteExtra = deleteExtra
    }

    /// What a run would do.
    public func plan() async throws(StorageError) -> [SyncAction] {
        async let sourceListing = Self.listing(source)
        async let destinationListing = Self.listing(destination)
        let sources = try await sourceListing.get()
        let existing = Dictionary(try await destinationListing.get().map { ($0.key, $0) }) { first, _ in first }
        var actions: [SyncAction] = []
        for object in sources where only?.contains(object.key) ?? true {
            guard let there = existing[object.key] else {
                actions.append(SyncAction(kind: .copy, key: object.key, size: object.size, reason: "missing", md5: object.md5))
                continue
            }
            if there.size != object.size {
                actions.append(SyncAction(kind: .copy, key: object.key, size: object.size, reason: "size differs", md5: object.md5))
                continue
            }
            let mine = try await retrying { () async throws(StorageError) in try await source.md5(of: object) }
            let theirs = try await retrying { () async throws(StorageError) in try await destination.md5(of: there) }
            if let mine, let theirs, mine != theirs {
                actions.append(SyncAction(kind: .copy, key: object.key, size: object.size, reason: "checksum differs", md5: mine))
            } else {
                let reason = mine == nil || theirs == nil ? "same size (no checksum to compare)" : "same size and checksum"
                actions.append(SyncAction(kind: .skip, key: object.key, size: object.size, reason: reason))
            }
        }
        if deleteExtra {
            let kept = Set(sources.map(\.key))
            for object in existing.values where !kept.contains(object.key) {
                actions.append(SyncAction(kind: .delete, key: object.key, size: object.size, reason: "not in the source"))
            }
        }
        return actions.sorted { $0.key < $1.key }
    }

    static func listing(_ store: any ObjectStore) async -> Result<[StoredObject], StorageError> {
        do throws(StorageError) { return .success(try await store.list()) } catch { return .failure(error) }
    }

    /// Runs the plan, `jobs` objects at a time; `progress` is called as bytes arrive.
    public func run(dryRun: Bool = false, progress: @escaping @Sendable (SyncProgress) -> Void = { _ in }) async throws(StorageError) -> SyncSummary {
        let started = ContinuousClock.now
        let actions = try await plan()
        let copies = actions.filter { $0.kind == .copy }
        let deletions = actions.filter { $0.kind == .delete }
        var summary = SyncSummary(
            source: source.url,
            destination: destination.url,
            copied: 0,
            skipped: actions.count - copies.count - deletions.count,
            deleted: 0,
            bytes: 0,
            seconds: 0,
            failed: [:],
            dryRun: dryRun,
            actions: dryRun ? actions.filter { $0.kind != .skip } : []
        )
        guard !dryRun else {
            summary.seconds = (ContinuousClock.now - started).inSeconds
            return summary
        }
        let counters = Counters(
            SyncProgress(objectsDone: 0, objects: copies.count + deletions.count, bytesDone: 0, bytes: copies.map(\.size).reduce(0, +))
        )
        let work = copies + deletions
        let syncer = self
        await withTaskGroup(of: Void.self) { group in
            var next = 0
            func start() {
                guard next < work.count else { return }
                let action = work[next]
                next += 1
                group.addTask {
                    do throws(StorageError) {
                        if action.kind == .delete {
                            try await syncer.retrying { () async throws(StorageError) in try await syncer.destination.delete(action.key) }
                        } else {
                            try await syncer.copy(action, moved: { bytes in progress(counters.moved(bytes)) }, resumed: counters.resumed)
                        }
                    } catch {
                        counters.failed(action.key, error)
                    }
                    progress(counters.finished())
                }
            }
            for _ in 0..<jobs { start() }
            while await group.next() != nil { start() }
        }
        summary.failed = counters.failures
        summary.resumedBytes = counters.resumedBytes
        summary.copied = copies.filter { summary.failed[$0.key] == nil }.count
        summary.deleted = deletions.filter { summary.failed[$0.key] == nil }.count
        summary.bytes = copies.filter { summary.failed[$0.key] == nil }.map(\.size).reduce(0, +)
        summary.seconds = (ContinuousClock.now - started).inSeconds
        return summary
    }

    /// Copies one object and checks the destination holds what was read.
    func copy(
        _ action: SyncAction,
        moved: @escaping @Sendable (Int64) -> Void,
        resumed: (Int64) -> Void = { _ in }
    ) async throws(StorageError) {
        let key = action.key
        if action.size <= destination.partSize {
            let data = try await retrying { () async throws(StorageError) in try await source.read(key, range: nil) }
            guard Int64(data.readableBytes) == action.size else {
                throw StorageError(code: "SourceChanged", message: "\(key): listed with \(action.size) bytes, read \(data.readableBytes)")
            }
            let md5 = MD5Digest.hex(of: data)
            _ = try await retrying { () async throws(StorageError) in try await destination.write(key, data, md5: md5) }
            moved(action.size)
            return
        }
        let listed = StoredObject(key: key, size: action.size, md5: action.md5)
        guard let md5 = try await retrying({ () async throws(StorageError) in try await source.md5(of: listed) }) else {
            throw StorageError(code: "NoChecksum", message: "\(source.url)\(key): no MD5 to verify a large copy against")
        }
        let session = try await retrying { () async throws(StorageError) in try await destination.upload(key, size: action.size, md5: md5) }
        let stored = await session.storedParts
        let parts = Int((action.size + destination.partSize - 1) / destination.partSize)
        let partSize = destination.partSize
        func range(_ part: Int) -> Range<Int64> { Int64(part - 1) * partSize..<min(action.size, Int64(part) * partSize) }
        for part in stored.sorted() where part <= parts {
            moved(Int64(range(part).count))
            resumed(Int64(range(part).count))
        }
        // A fresh copy reads the object in one pass (one request, not one per part), cutting parts as the bytes
        // arrive; should that stream break, what it did not deliver is read by range below.
        let streamed = PartSet()
        if stored.isEmpty {
            await stream(action, into: session, done: streamed, moved: moved)
        }
        let delivered = stored.union(streamed.parts)
        // The parts not there yet, `partsInFlight` at a time: reading one while others are on their way out.
        let missing = (1...parts).filter { !delivered.contains($0) }
        let syncer = self
        let failure = await withTaskGroup(of: StorageError?.self) { group -> StorageError? in
            var failure: StorageError?
            for (index, part) in missing.enumerated() {
                if index >= Self.partsInFlight, let result = await group.next(), let error = result {
                    failure = error
                    break
                }
                group.addTask {
                    do throws(StorageError) {
                        let bytes = range(part)
                        let data = try await syncer.retrying { () async throws(StorageError) in try await syncer.source.read(key, range: bytes) }
                        try await syncer.retrying { () async throws(StorageError) in
                            try await session.upload(part: part, offset: bytes.lowerBound, data)
                        }
                        moved(Int64(bytes.count))
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            for await result in group where failure == nil { failure = result }
            return failure
        }
        if let failure { throw failure }
        _ = try await retrying { () async throws(StorageError) in try await session.finish() }
        // The destination's own digest of the whole object, where it keeps one.
        if let there = try await destination.md5(of: StoredObject(key: key, size: action.size)), there != md5 {
            throw StorageError(code: "ChecksumMismatch", message: "\(destination.url)\(key): holds \(there), the source \(md5)")
        }
    }

    /// Copies an object's parts from one streaming read, `partsInFlight` uploads at a time (the stream waits
    /// while they are busy); each part uploaded goes into `done`. Stops quietly at the first failure: the
    /// caller reads what is missing by range.
    func stream(_ action: SyncAction, into session: any UploadSession, done: PartSet, moved: @escaping @Sendable (Int64) -> Void) async {
        let partSize = Int(destination.partSize)
        let syncer = self
        do {
            let chunks = try await source.chunks(action.key, size: action.size)
            try await withThrowingTaskGroup(of: Void.self) { group in
                var buffer = ByteBuffer()
                buffer.reserveCapacity(partSize)
                var part = 1
                var inFlight = 0
                func send(_ data: ByteBuffer) async throws {
                    if inFlight >= Self.partsInFlight {
                        try await group.next()
                        inFlight -= 1
                    }
                    let number = part
                    group.addTask {
                        try await syncer.retrying { () async throws(StorageError) in
                            try await session.upload(part: number, offset: Int64(number - 1) * Int64(partSize), data)
                        }
                        done.insert(number)
                        moved(Int64(data.readableBytes))
                    }
                    inFlight += 1
                    part += 1
                }
                var received: Int64 = 0
                for try await var chunk in chunks {
                    received += Int64(chunk.readableBytes)
                    guard received <= action.size else { throw StorageError(code: "SourceChanged", message: "\(action.key) grew while read") }
                    while chunk.readableBytes > 0 {
                        let take = min(chunk.readableBytes, partSize - buffer.readableBytes)
                        buffer.writeImmutableBuffer(chunk.readSlice(length: take)!)
                        if buffer.readableBytes == partSize {
                            try await send(buffer)
                            buffer = ByteBuffer()
                            buffer.reserveCapacity(partSize)
                        }
                    }
                }
                guard received == action.size else {
                    throw StorageError(code: "SourceChanged", message: "\(action.key): listed with \(action.size) bytes, read \(received)")
                }
                if buffer.readableBytes > 0 { try await send(buffer) }
                try await group.waitForAll()
            }
        } catch {
            // Reported by the ranged reads that follow, should they fail too.
        }
    }

    func retrying<T>(_ body: () async throws(StorageError) -> T) async throws(StorageError) -> T {
        var delay = Duration.milliseconds(200)
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch  where error.retryable && attempt < attempts {
                try? await Task.sleep(for: delay)  // cancelled: the next try fails fast and reports
                delay *= 2
                attempt += 1
            }
        }
    }
}

/// Progress and failures, shared by the copies in flight.
final class Counters: Sendable {
    private let state: Mutex<(progress: SyncProgress, failures: [String: String], resumed: Int64)>

    init(_ progress: SyncProgress) { state = Mutex((progress, [:], 0)) }

    func resumed(_ bytes: Int64) { state.withLock { $0.resumed += bytes } }

    var resumedBytes: Int64 { state.withLock { $0.resumed } }

    func moved(_ bytes: Int64) -> SyncProgress {
        state.withLock {
            $0.progress.bytesDone += bytes
            return $0.progress
        }
    }

    func finished() -> SyncProgress {
        state.withLock {
            $0.progress.objectsDone += 1
            return $0.progress
        }
    }

    func failed(_ key: String, _ error: StorageError) { state.withLock { $0.failures[key] = error.description } }

    var failures: [String: String] { state.withLock { $0.failures } }
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Part numbers written so far, shared by the tasks writing them.
final class PartSet: Sendable {
    private let state = Mutex<Set<Int>>([])

    func insert(_ part: Int) { state.withLock { _ = $0.insert(part) } }

    var parts: Set<Int> { state.withLock { $0 } }
}
