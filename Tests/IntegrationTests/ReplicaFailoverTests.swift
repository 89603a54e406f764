import AllotAPI
import AllotClient
import AllotTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Three `allot server` processes on one throwaway PostgreSQL database and two agents, on loopback.
final class ReplicaSet: Sendable {
    let directory: String
    let database: String
    let ports: [Int]
    let servers: Mutex<[LiveProcess?]>
    let agents = Mutex<[LiveProcess]>([])
    let lease: Double
    let adminToken: String
    let agentToken: String

    var urls: [String] { ports.map { "http://127.0.0.1:\($0)" } }

    /// Starts the first server (it leads), then the others (they follow). `storeFor(i)` gives server `i`'s store URL.
    init(count: Int = 3, lease: Double = 2, storeFor: ((Int, String) -> String)? = nil) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-ha-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/marks", withIntermediateDirectories: true)
        database = try PostgresCluster.shared().makeDatabase(prefix: "ha")
        ports = try (0..<count).map { _ in try freePort() }
        self.lease = lease
        servers = Mutex(Array(repeating: nil, count: count))
        var first: LiveProcess?
        for index in 0..<count {
            let process = try LiveProcess(
                [
                    "server", "--no-tls", "--store", storeFor?(index, database) ?? database, "--port", "\(ports[index])",
                    "--advertise", "http://127.0.0.1:\(ports[index])", "--lease", "\(lease)", "--data-dir", "server-\(index)",
                    "--scan-interval", "0.5", "--grace-period", "1", "--headroom", "0",
                ],
                directory: directory
            )
            servers.withLock { $0[index] = process }
            if index == 0 {
                _ = try await process.line(startingWith: "allot server listening on ")
                first = process
            } else {
                _ = try await process.line(startingWith: "allot server following on ")
            }
        }
        adminToken = String(try await first!.line(startingWith: "admin token: ").prefix { !$0.isWhitespace })
        agentToken = try await first!.line(startingWith: "agent join token: ")
    }

    /// A client that starts at server `index` (a follower redirects it) and knows all of them.
    func client(from index: Int) -> AllotClient {
        let ordered = urls[index...] + urls[..<index]
        return AllotClient(servers: ordered.map { URL(string: $0)! }, token: adminToken)
    }

    func startAgent(_ name: String) throws {
        let agent = try LiveProcess(
            [
                "agent", "--server", urls.joined(separator: ","), "--token", agentToken, "--name", name,
                "--resources", "cpu=4,memory=8GiB", "--data-dir", "agent-\(name)",
            ],
            directory: directory
        )
        agents.withLock { $0.append(agent) }
    }

    /// The index of the server whose `/health` says it leads, if one answers so.
    func leader() async -> Int? {
        for (index, url) in urls.enumerated() {
            let process = servers.withLock { $0[index] }
            guard let process, process.process.isRunning else { continue }
            let health = try? await runToEnd(curl(url + "/health"))  // a server that does not answer is not the leader
            if let data = health?.output, String(decoding: data, as: UTF8.self).contains(#""role":"leader""#) { return index }
        }
        return nil
    }

    private func curl(_ url: String) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "1", url]
        return process
    }

    /// Submits a job that marks its start and end (with its process id) in `marks/<job id>` and runs `seconds`.
    func submit(through index: Int, seconds: Double) async throws(ClientError) -> JobID {
        let marks = directory + "/marks"
        let script =
            "echo \"start $$ $(date +%s%N)\" >> \(marks)/$ALLOT_JOB_ID; sleep \(seconds); echo \"end $$ $(date +%s%N)\" >> \(marks)/$ALLOT_JOB_ID"
        return try await client(from: index).submit(["command": ["sh", "-c", script], "requests": ["cpu": 0.5, "memory": "64MiB"]]).id
    }

    /// Each attempt's start and end (nanoseconds), by process id, as the job wrote them.
    func runs(_ id: JobID) -> [(start: Int64, end: Int64?)] {
        let text = (try? String(contentsOfFile: directory + "/marks/\(id.rawValue)", encoding: .utf8)) ?? ""  // not started yet: none
        var starts: [String: Int64] = [:]
        var ends: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let time = Int64(parts[2]) else { continue }
            if parts[0] == "start" { starts[String(parts[1])] = time } else { ends[String(parts[1])] = time }
        }
        return starts.map { pid, start in (start, ends[pid]) }.sorted { $0.start < $1.start }
    }

    func stop() {
        for agent in agents.withLock({ $0 }) { agent.terminate() }
        for server in servers.withLock({ $0 }) { server?.terminate() }
    }
}

extension HeavyTests {
    /// Several servers on one PostgreSQL database: the leader dies (kill -9) or loses the database mid-load; a
    /// follower takes over within the lease plus a check, every acknowledged job is there, no job runs twice at
    /// once, and the jobs running at the failover are not restarted.
    @Suite(.serialized) struct ReplicaFailoverTests {
        /// Submits through every server for a while, calls `fault` part-way through, and checks the outcome.
        func failover(_ replicas: ReplicaSet, fault: @Sendable () async throws -> Void) async throws {
            try replicas.startAgent("rack-a")
            try replicas.startAgent("rack-b")
            let client = replicas.client(from: 0)
            _ = try await eventually("both agents joined", within: 30) { try await client.nodes().count == 2 ? true : nil }
            // Jobs running when the fault comes: they must run on undisturbed.
            var acknowledged: [JobID] = []
            for index in 0..<6 { acknowledged.append(try await replicas.submit(through: index % replicas.ports.count, seconds: 8)) }
            let running = try await eventually("the first jobs running", within: 30) {
                let views = try await client.allJobs(states: [.running])
                return views.count >= 6 ? Set(views.map(\.job.id)) : nil
            }
            // More submissions through every server, while the fault happens.
            let load = Task {
                var ids: [JobID] = []
                var refused = 0
                for round in 0..<30 {
                    do { ids.append(try await replicas.submit(through: round % replicas.ports.count, seconds: 1)) } catch { refused += 1 }
                    try? await Task.sleep(for: .milliseconds(150))  // only pacing
                }
                return (ids, refused)
            }
            try await Task.sleep(for: .milliseconds(800))
            let oldLeader = try #require(await replicas.leader())
            let faultAt = ContinuousClock.now
            try await fault()
            let newLeader = try await eventually("a new leader", within: 30) { () async -> Int? in
                guard let index = await replicas.leader(), index != oldLeader else { return nil }
                return index
            }
            let failoverTime = ContinuousClock.now - faultAt
            let (more, refused) = await load.value
            acknowledged += more
            let after = replicas.client(from: newLeader)
            // Every acknowledged job is there, and ends.
            let finished = try await eventually("every acknowledged job finished", within: 90) {
                let views = try await after.allJobs()
                let byID = Dictionary(uniqueKeysWithValues: views.map { ($0.job.id, $0.job) })
                return acknowledged.allSatisfy { byID[$0]?.state.isTerminal == true } ? byID : nil
            }
            print(
                "failover: \(failoverTime), acknowledged \(acknowledged.count), refused \(refused), leader \(oldLeader) -> \(newLeader)"
            )
            #expect(failoverTime < .seconds(replicas.lease + replicas.lease / 3 + 3), "failover took \(failoverTime)")
            for id in acknowledged {
                #expect(finished[id]?.state == .succeeded, "job \(id): \(String(describing: finished[id]?.state))")
                let runs = replicas.runs(id)
                #expect(!runs.isEmpty, "job \(id) never ran")
                for (earlier, later) in zip(runs, runs.dropFirst()) {
                    #expect(earlier.end.map { $0 <= later.start } ?? false, "job \(id) ran twice at once: \(runs)")
                }
                if running.contains(id) { #expect(runs.count == 1, "job \(id) was running at the failover and started again: \(runs)") }
            }
        }

        @Test func theLeaderKilledMidLoadIsReplacedWithinTheLease() async throws {
            let replicas = try await ReplicaSet()
            defer { replicas.stop() }
            try await failover(replicas) {
                guard let leader = await replicas.leader() else { throw LiveError("no leader") }
                replicas.servers.withLock { $0[leader]?.kill9() }
            }
        }

        /// The leader reaches the database through a relay the test cuts: it must stop leading (and dispatching)
        /// within its lease, and a follower, which reaches the database directly, takes over.
        @Test func aLeaderCutOffFromTheDatabaseStepsDown() async throws {
            let relayPort = try freePort()
            let cluster = try PostgresCluster.shared()
            let relay = try TCPRelay(listen: relayPort, to: cluster.port)
            defer { relay.stop() }
            let replicas = try await ReplicaSet { index, database in
                index == 0 ? database.replacingOccurrences(of: ":\(cluster.port)/", with: ":\(relayPort)/") : database
            }
            defer { replicas.stop() }
            try await failover(replicas) {
                #expect(await replicas.leader() == 0)
                relay.stop()
                // The old leader stops within its lease: it exits, saying why.
                let old = try #require(replicas.servers.withLock { $0[0] })
                let deadline = ContinuousClock.now + .seconds(replicas.lease + 2)
                while old.process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                #expect(!old.process.isRunning, "the cut-off leader still runs")
                #expect(old.output.contains("stopped leading"), "\(old.output.suffix(2000))")
            }
        }

        /// A follower answers job reads from the database itself (no redirect), with the leader's tokens, roles and
        /// tenant visibility; what it does not hold goes to the leader.
        @Test func aFollowerAnswersJobReadsFromTheDatabase() async throws {
            let replicas = try await ReplicaSet(count: 2)
            defer { replicas.stop() }
            try replicas.startAgent("rack-a")
            let leader = replicas.client(from: 0)
            _ = try await eventually("the agent joined", within: 30) { try await leader.nodes().count == 1 ? true : nil }
            var jobs: [JobID] = []
            for index in 0..<3 {
                jobs.append(try await leader.submit(["command": ["echo", "job \(index) done"], "requests": ["cpu": 0.5, "memory": "64MiB"]]).id)
            }
            let follower = replicas.urls[1]
            let admin = replicas.adminToken

            // Acknowledged on the leader: durable, so the follower has it at once.
            let one = try await HTTPCall.get(follower + "/v1/jobs/\(jobs[0].rawValue)", token: admin)
            #expect(one.status == 200, "\(one)")
            #expect(try JSONDecoder().decode(JobView.self, from: one.body).job.id == jobs[0])
            let page = try await HTTPCall.get(follower + "/v1/jobs?limit=2", token: admin)
            #expect(page.status == 200)
            #expect(try JSONDecoder().decode([JobView].self, from: page.body).map(\.job.id) == Array(jobs.prefix(2)))
            #expect(page.headers.contains("rel=\"next\""), "\(page.headers)")
            let finished = try await eventually("the first job's output on the follower", within: 30) { () async throws -> [LogChunk]? in
                let logs = try await HTTPCall.get(follower + "/v1/jobs/\(jobs[0].rawValue)/logs", token: admin)
                let chunks = try JSONDecoder().decode([LogChunk].self, from: logs.body)
                return logs.status == 200 && chunks.map(\.text).joined() == "job 0 done\n" ? chunks : nil
            }
            #expect(!finished.isEmpty)
            #expect(try await HTTPCall.get(follower + "/v1/jobs/job-999999", token: admin).status == 404)

            // Not held by the follower: redirected to the leader.
            let nodes = try await HTTPCall.get(follower + "/v1/nodes", token: admin)
            #expect(nodes.status == 307 && nodes.headers.contains("\(replicas.urls[0])/v1/nodes"), "\(nodes)")

            // Tokens: none or a bad one refused; another tenant's viewer sees nothing of the default tenant.
            #expect(try await HTTPCall.get(follower + "/v1/jobs", token: nil).status == 401)
            #expect(try await HTTPCall.get(follower + "/v1/jobs", token: "allot_not-a-token").status == 401)
            _ = try await leader.createTenant(TenantRequest(name: "team-b"))
            let viewer = try await leader.createToken(TokenRequest(name: "b viewer", role: .viewer, tenant: "team-b"))
            let secret = try #require(viewer.secret)
            let hidden = try await eventually("the new token works on the follower", within: 5) { () async throws -> Int? in
                let answer = try await HTTPCall.get(follower + "/v1/jobs/\(jobs[0].rawValue)", token: secret)
                return answer.status == 401 ? nil : answer.status
            }
            #expect(hidden == 404)
            let theirs = try await HTTPCall.get(follower + "/v1/jobs", token: secret)
            #expect(theirs.status == 200)
            #expect(try JSONDecoder().decode([JobView].self, from: theirs.body).isEmpty)

            // Revoked on the leader: refused by the follower within a second or so.
            _ = try await leader.revokeToken(viewer.id)
            let revokedAt = ContinuousClock.now
            _ = try await eventually("the revoked token refused on the follower", within: 5) { () async throws -> Bool? in
                try await HTTPCall.get(follower + "/v1/jobs", token: secret).status == 401 ? true : nil
            }
            #expect(ContinuousClock.now - revokedAt < .seconds(3))
        }
    }
}

/// One GET with curl (redirects not followed): status, raw header lines and body.
struct HTTPCall: CustomStringConvertible {
    var status: Int
    var headers: String
    var body: Data

    var description: String { "\(status) \(headers) \(String(decoding: body, as: UTF8.self).prefix(500))" }

    static func get(_ url: String, token: String?) async throws -> HTTPCall {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        let headerFile = NSTemporaryDirectory() + "allot-headers-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: headerFile) }  // best effort: a temporary file
        process.arguments = ["-s", "--max-time", "10", "-D", headerFile] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []) + [url]
        let (body, status) = try await runToEnd(process)
        guard status == 0 else { throw LiveError("curl \(url) exited \(status)") }
        let headers = try String(contentsOfFile: headerFile, encoding: .utf8)
        let code = headers.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return HTTPCall(status: code, headers: headers, body: body)
    }
}

/// Polls until `condition` gives a value.
func eventually<T>(_ what: String, within seconds: Double, _ condition: () async throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(seconds)
    var last: (any Error)?
    while Date() < deadline {
        do {
            if let value = try await condition() { return value }
        } catch {
            last = error
        }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw LiveError("\(what): not within \(seconds) s\(last.map { " (last error: \($0))" } ?? "")")
}

/// A TCP relay on loopback (a small Python process): stopping it cuts every connection through it at once.
final class TCPRelay: Sendable {
    let process: LiveProcess

    init(listen: Int, to target: Int) throws {
        let script = """
            import asyncio
            async def pipe(reader, writer):
                try:
                    while data := await reader.read(65536):
                        writer.write(data)
                        await writer.drain()
                except Exception:
                    pass
                finally:
                    writer.close()
            async def serve(reader, writer):
                upstream_reader, upstream_writer = await asyncio.open_connection('127.0.0.1', \(target))
                await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
            async def main():
                server = await asyncio.start_server(serve, '127.0.0.1', \(listen))
                print('relaying', flush=True)
                await server.serve_forever()
            asyncio.run(main())
            """
        process = try LiveProcess(executable: "/usr/bin/env", arguments: ["python3", "-c", script], directory: NSTemporaryDirectory())
        let deadline = Date().addingTimeInterval(10)
        while !process.output.contains("relaying") && Date() < deadline { usleep(20_000) }
    }

    func stop() { process.kill9() }
}
