import AllotAPI
import AllotClient
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What an agent's death means for its jobs: a watchdog in each job's process group stops the job (SIGTERM,
/// SIGKILL after the grace period) within a second or so of the agent; the server, missing three reports,
/// marks the node down and requeues the job (or, with no attempts left, marks it lost). So the job never runs
/// on unsupervised while a copy starts elsewhere. Before, the orphan ran on (a `sleep 600` for ten minutes).
@Suite(.serialized) struct AgentDeathTests {
    /// Whether a process is alive (a zombie waiting for its parent is not).
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
    }

    @Test func aJobWhoseAgentDiesIsStoppedBeforeItIsRequeued() async throws {
        // Reports every 3 s: the node is down after three missed, 9 s after the agent dies.
        let cluster = try await LiveCluster(scanInterval: 3)
        defer { cluster.stop() }
        try cluster.startAgent("n1", resources: "cpu=2,memory=4GiB")
        let client = cluster.client
        _ = try await cluster.eventually("node n1 ready") { try await client.nodes().first { $0.name == "n1" && $0.state == .ready } }
        let pidFile = cluster.directory + "/job.pid"
        let job = try await client.submit([
            "command": ["sh", "-c", "echo $$ > \(pidFile); exec sleep 600"], "requests": ["cpu": 1, "memory": "64MiB"], "maxAttempts": 2,
        ])
        let pid = try await cluster.eventually("the job running") { () async throws -> Int32? in
            guard try await client.job(job.id).job.state == .running else { return nil }
            return (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        #expect(Self.alive(pid))
        try #require(cluster.agent("n1")).kill9()
        let died = ContinuousClock.now
        // Watched together: the orphan must be gone before (or when) the job is seen requeued.
        var stopped: Duration?
        var requeued: Duration?
        while requeued == nil, ContinuousClock.now - died < .seconds(60) {
            if stopped == nil, !Self.alive(pid) { stopped = ContinuousClock.now - died }
            let view = try await client.job(job.id)
            if view.job.state == .pending && view.job.retries == 1 { requeued = ContinuousClock.now - died }
            try await Task.sleep(for: .milliseconds(50))
        }
        let stoppedAfter = try #require(stopped, "the job outlived its agent by a minute")
        let requeuedAfter = try #require(requeued, "the job was not requeued")
        #expect(stoppedAfter <= requeuedAfter, "requeued \(requeuedAfter) after the agent died, but its orphan ran until \(stoppedAfter)")
        #expect(try await client.nodes().first { $0.name == "n1" }?.state == .down)
        #expect(!Self.alive(pid))
    }
}
