import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `allot bench chaos`: bounded rounds of faults against a real server and agent: SIGKILL under load, a full
/// disk, more clients than descriptors, a burst of bad tokens beside a working agent, a read storm beside
/// writes. Reports what was acknowledged, lost, run twice, the errors clients saw and the recovery time.
public struct ChaosCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Fault rounds against a real server and agent; print acknowledged, lost, ran twice, errors and recovery per fault."
    )

    public enum Fault: String, CaseIterable, ExpressibleByArgument, Sendable {
        case kill9 = "kill-9"
        case disk = "full-disk"
        case descriptors
        case tokens = "bad-tokens"
        case storm = "read-storm"
    }

    @Option(help: "Rounds of each fault.") public var rounds: Int = 3
    @Option(help: "Jobs submitted in each round.") public var jobs: Int = 200
    @Option(help: "Seconds of the read storm.") public var stormSeconds: Double = 10
    @Option(help: "Concurrent readers in the storm.") public var readers: Int = 200
    @Option(parsing: .upToNextOption, help: "Faults to run (\(Fault.allCases.map(\.rawValue).joined(separator: ", "))).")
    public var faults: [Fault] = Fault.allCases
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard rounds >= 1, jobs >= 1 else { throw ValidationError("--rounds and --jobs: at least 1") }
        guard stormSeconds > 0, (1...5_000).contains(readers) else { throw ValidationError("--storm-seconds: positive; --readers: 1 to 5000") }
    }

    struct Outcome: Encodable {
        var fault: String
        var rounds = 0
        var acknowledged = 0
        var lost = 0
        var ranTwice = 0
        var errors = 0
        var recoverySeconds: [Double] = []
        var skipped: String?
        var notes: [String] = []
    }

    public func run() async throws {
        var outcomes: [Outcome] = []
        for fault in faults {
            var outcome = Outcome(fault: fault.rawValue)
            for _ in 0..<rounds {
                if outcome.skipped != nil { break }
                try await round(fault, &outcome)
                outcome.rounds += outcome.skipped == nil ? 1 : 0
            }
            outcomes.append(outcome)
        }
        if output.output == .json { return print(try JSONOutput.render(outcomes)) }
        var table = TextTable(["FAULT", "ROUNDS", "ACKNOWLEDGED", "LOST", "RAN TWICE", "ERRORS", "RECOVERY S (MAX)", "NOTES"])
        for outcome in outcomes {
            let recovery = outcome.recoverySeconds.max().map { Quantity.format($0) } ?? "-"
            table.add([
                outcome.fault, "\(outcome.rounds)", "\(outcome.acknowledged)", "\(outcome.lost)", "\(outcome.ranTwice)", "\(outcome.errors)",
                recovery,
                outcome.skipped.map { "skipped: \($0)" } ?? outcome.notes.joined(separator: "; "),
            ])
        }
        print(table.render())
    }

    private func round(_ fault: Fault, _ outcome: inout Outcome) async throws {
        switch fault {
        case .kill9: try await killRound(&outcome)
        case .disk: try await diskRound(&outcome)
        case .descriptors: try await descriptorRound(&outcome)
        case .tokens: try await tokenRound(&outcome)
        case .storm: try await stormRound(&outcome)
        }
    }

    /// Submits `count` jobs over eight connections, calling `midway` once a third are acknowledged.
    private func submitAll(
        _ cluster: ChaosCluster,
        _ count: Int,
        midway: @escaping @Sendable () async -> Void = {}
    ) async -> (acknowledged: [JobID], errors: Int) {
        let state = Shared<(acknowledged: [JobID], errors: Int, fired: Bool)>(([], 0, false))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let started = ContinuousClock.now
                    while state.withLock({ $0.acknowledged.count }) < count, ContinuousClock.now - started < .seconds(300) {
                        if let id = await cluster.submit() {
                            let fire = state.withLock { state -> Bool in
                                state.acknowledged.append(id)
                                guard !state.fired, state.acknowledged.count >= count / 3 else { return false }
                                state.fired = true
                                return true
                            }
                            if fire { await midway() }
                        } else {
                            state.withLock { $0.errors += 1 }
                            try? await Task.sleep(for: .milliseconds(20))  // a pause before the next try; never cancelled
                        }
                    }
                }
            }
        }
        return state.withLock { ($0.acknowledged, $0.errors) }
    }

    private func finish(_ cluster: ChaosCluster, _ acknowledged: [JobID], errors: Int, _ outcome: inout Outcome) async throws {
        let (lost, twice, why) = try await cluster.settle(acknowledged)
        if let why { outcome.notes.append(why) }
        let failures = cluster.failures.withLock { $0 }.sorted { $0.value > $1.value }.prefix(3).map { "\($0.value)× \($0.key)" }
        if !failures.isEmpty { outcome.notes.append("errors: " + failures.joined(separator: ", ")) }
        outcome.acknowledged += acknowledged.count
        outcome.lost += lost
        outcome.ranTwice += twice
        outcome.errors += errors
    }

    /// SIGKILL the server a third of the way through the submissions, start it again at once.
    private func killRound(_ outcome: inout Outcome) async throws {
        let cluster = try ChaosCluster()
        defer { cluster.stop() }
        try await cluster.startAgent()
        let recovery = Shared<Double?>(nil)
        let (acknowledged, errors) = await submitAll(cluster, jobs) {
            cluster.killServer()
            do {
                try cluster.restartServer()
                let seconds = try await cluster.waitHealthy()
                recovery.withLock { $0 = seconds }
            } catch {
                recovery.withLock { $0 = .infinity }
            }
        }
        if let seconds = recovery.withLock({ $0 }) { outcome.recoverySeconds.append(seconds) }
        try await finish(cluster, acknowledged, errors: errors, &outcome)
    }

    /// The data on an 8 MiB tmpfs, filled to the last byte a third of the way through, freed a second later.
    private func diskRound(_ outcome: inout Outcome) async throws {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("allot-chaos-probe-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        let mountable = getuid() == 0 && mount("tmpfs", probe, "tmpfs", 0, "size=1m") == 0
        _ = umount(probe)
        try? FileManager.default.removeItem(atPath: probe)  // an empty directory; nothing depends on it
        guard mountable else {
            outcome.skipped = "needs root and a mountable tmpfs (a real full disk)"
            return
        }
        var mounted = ""
        let cluster = try ChaosCluster { directory in
            mounted = directory + "/server"
            try FileManager.default.createDirectory(atPath: mounted, withIntermediateDirectories: true)
            guard mount("tmpfs", mounted, "tmpfs", 0, "size=8m,mode=0700") == 0 else { throw CommandFailure("cannot mount a tmpfs at \(mounted)") }
        }
        defer {
            cluster.stop()
            _ = umount2(mounted, Int32(MNT_DETACH))
        }
        try await cluster.startAgent()
        let filler = mounted + "/filler"
        let freed = Shared<ContinuousClock.Instant?>(nil)
        let (acknowledged, errors) = await submitAll(cluster, jobs) {
            let handle = fopen(filler, "w")
            let chunk = [UInt8](repeating: 0x5a, count: 65_536)
            while let handle, fwrite(chunk, 1, chunk.count, handle) == chunk.count, fflush(handle) == 0 {}
            if let handle { fclose(handle) }
            try? await Task.sleep(for: .seconds(1))  // the disk stays full this long; never cancelled
            unlink(filler)
            freed.withLock { $0 = .now }
        }
        // Recovery: from freeing the disk to the first submission acknowledged after it.
        if let start = freed.withLock({ $0 }) {
            while await cluster.submit() == nil, ContinuousClock.now - start < .seconds(60) { try await Task.sleep(for: .milliseconds(20)) }
            outcome.recoverySeconds.append((ContinuousClock.now - start).inSeconds)
        }
        try await finish(cluster, acknowledged, errors: errors, &outcome)
    }

    /// A server limited to 256 descriptors, held by 600 idle clients while the jobs are submitted.
    private func descriptorRound(_ outcome: inout Outcome) async throws {
        let cluster = try ChaosCluster(descriptors: 256)
        defer { cluster.stop() }
        try await cluster.startAgent()
        var sockets: [Int32] = []
        for _ in 0..<600 {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard socket >= 0 else { continue }
            _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(cluster.port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            sockets.append(socket)
        }
        // Submissions while the idle clients hold every connection the server takes: they wait, or fail.
        let flood = ContinuousClock.now + .seconds(3)
        var errors = 0
        var acknowledged: [JobID] = []
        while ContinuousClock.now < flood {
            if let id = await cluster.submit() { acknowledged.append(id) } else { errors += 1 }
        }
        for socket in sockets { close(socket) }
        if !cluster.serverRunning { outcome.notes.append("the server died") }
        outcome.recoverySeconds.append(try await cluster.waitHealthy())
        let after = await submitAll(cluster, max(0, jobs - acknowledged.count))
        acknowledged += after.acknowledged
        errors += after.errors
        try await finish(cluster, acknowledged, errors: errors, &outcome)
    }

    /// 2,000 requests with bad tokens from this address while the agent reports and jobs are submitted: the
    /// node must stay ready and no valid call be refused.
    private func tokenRound(_ outcome: inout Outcome) async throws {
        let cluster = try ChaosCluster()
        defer { cluster.stop() }
        try await cluster.startAgent()
        let url = cluster.url
        let (acknowledged, errors) = await withTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    // Each is meant to fail (401, then 429): only the valid calls beside them are counted.
                    for attempt in 0..<125 { _ = try? await AllotClient(server: url, token: "allot_bad\(worker)-\(attempt)").nodes() }
                }
            }
            let result = await submitAll(cluster, jobs)
            await group.waitForAll()
            return result
        }
        let node = try await cluster.client.node("n1")
        if node.state != .ready { outcome.notes.append("node n1 \(node.state.rawValue) after the burst") }
        try await finish(cluster, acknowledged, errors: errors, &outcome)
    }

    /// `readers` connections listing jobs for `stormSeconds` beside the submissions.
    private func stormRound(_ outcome: inout Outcome) async throws {
        let cluster = try ChaosCluster()
        defer { cluster.stop() }
        try await cluster.startAgent()
        let deadline = ContinuousClock.now + .seconds(stormSeconds)
        let port = cluster.port
        let headers = [("Authorization", "Bearer \(cluster.admin)")]
        let reads = Shared<[Double]>([])
        let writes = Shared<[Double]>([])
        let lostReaders = Shared(0)
        let (acknowledged, errors) = await withTaskGroup(of: Void.self) { group in
            for _ in 0..<readers {
                group.addTask {
                    do {
                        _ = try await LoopbackConnection(port: port).use { send in
                            while ContinuousClock.now < deadline {
                                let begin = ContinuousClock.now
                                _ = try await send(.GET, "/v1/jobs?limit=100", headers, nil)
                                let elapsed = (ContinuousClock.now - begin).inSeconds * 1000
                                reads.withLock { $0.append(elapsed) }
                            }
                            return true
                        }
                    } catch {
                        lostReaders.withLock { $0 += 1 }
                    }
                }
            }
            var acknowledged: [JobID] = []
            var errors = 0
            while ContinuousClock.now < deadline {
                let begin = ContinuousClock.now
                if let id = await cluster.submit() {
                    acknowledged.append(id)
                    let elapsed = (ContinuousClock.now - begin).inSeconds * 1000
                    writes.withLock { $0.append(elapsed) }
                } else {
                    errors += 1
                }
            }
            await group.waitForAll()
            return (acknowledged, errors)
        }
        func percentiles(_ samples: [Double]) -> String {
            let latency = ReadBenchCommand.Latency(samples)
            guard latency.count > 0 else { return "none" }
            return "p50 \(Quantity.format(latency.p50Milliseconds)) ms, p99 \(Quantity.format(latency.p99Milliseconds)) ms (\(latency.count))"
        }
        outcome.notes = ["reads " + percentiles(reads.withLock { $0 }), "writes " + percentiles(writes.withLock { $0 })]
        let lost = lostReaders.withLock { $0 }
        if lost > 0 { outcome.notes.append("\(lost) readers lost their connection") }
        try await finish(cluster, acknowledged, errors: errors, &outcome)
    }
}

/// A value shared by concurrent tasks, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}
