import AllotAPI
import AllotClient
import AllotCloud
import Foundation
import Synchronization
import Testing

/// The autoscaler against moto's EC2 server: real processes, real HTTP, the EC2 Query API signed with SigV4.
/// The tests play each instance's boot by starting `allot agent` with the instance's identity, as its user
/// data would.
@Suite(.serialized) struct AutoscalerTests {
    /// An autoscaler file for moto's us-east-1, with `changes` applied.
    static func configuration(_ changes: [String: Any] = [:]) throws -> String {
        var file: [String: Any] = [
            "provider": "aws", "regions": ["us-east-1"], "instanceFamilies": ["g4dn", "g5", "g6"], "maxNodes": 2,
            "maxSpendPerHour": 5, "idleMinutes": 0.02, "bootTimeoutMinutes": 5, "pendingSeconds": 0, "checkSeconds": 0.3,
            "serverURL": "http://10.0.0.1:7070", "image": "ami-1e749f67",
        ]
        for (key, value) in changes { file[key] = value }
        return String(decoding: try JSONSerialization.data(withJSONObject: file), as: UTF8.self)
    }

    /// A cluster whose server autoscales into `moto`; no agent joins until a test starts one.
    func start(_ moto: MotoServer, directory: String, _ changes: [String: Any] = [:]) async throws -> LiveCluster {
        let file = directory + "/autoscale-\(UUID().uuidString).json"
        try Self.configuration(changes).write(toFile: file, atomically: true, encoding: .utf8)
        return try await LiveCluster(serverArguments: ["--autoscale", file], serverEnvironment: moto.environment)
    }

    func gpuJob(_ cluster: LiveCluster, _ script: String = "echo trained", preemptible: Bool = false) async throws -> Job {
        try await cluster.client.submit([
            "command": ["sh", "-c", script], "requests": ["cpu": 1, "memory": "1GiB", "gpus": 1], "preemptible": preemptible,
        ])
    }

    func intent(_ cluster: LiveCluster, for job: JobID, in states: Set<LaunchIntent.State>) async throws -> LaunchIntent {
        try await cluster.eventually("an intent for \(job) in \(states)") {
            try await cluster.client.autoscaler().instances.first { $0.jobs.contains(job.rawValue) && states.contains($0.state) }
        }
    }

    @Test func cloudCommandsLaunchDescribeAndTerminateInMoto() async throws {
        let directory = try freshDirectory()
        let moto = try await MotoServer(directory: directory)
        defer { moto.stop() }
        func allot(_ arguments: [String]) async throws -> (String, Int32) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try allotExecutable())
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(moto.environment) { _, new in new }
            let (output, status) = try await runToEnd(process, mergingErrors: true)
            return (String(decoding: output, as: UTF8.self), status)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let (launched, launchStatus) = try await allot(["cloud", "launch", "--instance-type", "g4dn.xlarge", "--count", "2", "--output", "json"])
        #expect(launchStatus == 0, "\(launched)")
        let bought = try decoder.decode([CloudInstance].self, from: Data(launched.utf8))
        #expect(bought.count == 2 && bought.allSatisfy { $0.instanceType == "g4dn.xlarge" && $0.tags[ProvisioningTags.cluster] == "allot" })
        let (listed, _) = try await allot(["cloud", "instances", "--output", "json"])
        #expect(Set(try decoder.decode([CloudInstance].self, from: Data(listed.utf8)).map(\.id)) == Set(bought.map(\.id)))
        let (table, _) = try await allot(["cloud", "instances"])
        #expect(table.contains("g4dn.xlarge") && table.contains(bought[0].id))
        let (ended, endStatus) = try await allot(["cloud", "terminate", bought[0].id, "--output", "json"])
        #expect(endStatus == 0)
        #expect(try decoder.decode([CloudInstance].self, from: Data(ended.utf8)).map(\.state) == ["terminated"])
        // AWS's own error code comes through.
        let (missing, missingStatus) = try await allot(["cloud", "terminate", "i-0123456789abcdef0"])
        #expect(missingStatus != 0 && missing.contains("InvalidInstanceID.NotFound"), "\(missing)")
    }

    @Test func aJobThatFitsNoNodeBuysTheCheapestMachineWhichIsGivenBackWhenIdle() async throws {
        let directory = try freshDirectory()
        let moto = try await MotoServer(directory: directory)
        defer { moto.stop() }
        let scaled = try await start(moto, directory: directory)
        defer { scaled.stop() }
        let job = try await gpuJob(scaled)
        let intent = try await intent(scaled, for: job.id, in: [.booting])
        // The cheapest allowed 1-GPU machine in us-east-1: g4dn.xlarge (T4) at $0.526/h in the catalog.
        #expect(intent.instanceType == "g4dn.xlarge" && abs(intent.hourlyPrice - 0.526) < 1e-6 && !intent.spot)
        #expect(!intent.alternatives.isEmpty)
        let id = try #require(intent.instanceID)
        let instance = try #require(try await moto.instances().first { $0.id == id })
        #expect(instance.tags[ProvisioningTags.intent] == intent.id && instance.tags[ProvisioningTags.cluster] == "allot")
        let view = try await scaled.client.job(job.id)
        #expect(view.provisioning?.contains("bought \(id)") == true, "\(view.provisioning ?? "nil")")
        // Provisioning until it joins.
        let nodes = try await cliOutput(scaled, ["nodes"])
        #expect(nodes.contains(id) && nodes.contains("provisioning") && nodes.contains("g4dn.xlarge"), "\(nodes)")
        // Its boot: the agent its user data starts, named for the instance and priced by its type.
        try scaled.startAgent(
            id,
            resources: "cpu=4,memory=16GiB,gpus=1xT4:16GiB",
            pricing: "cloud=aws,region=us-east-1,type=g4dn.xlarge,instance=\(id)"
        )
        let finished = try await scaled.finished(job.id)
        #expect(finished.state == .succeeded)
        // Idle past 0.02 min: drained and terminated in moto.
        let ended = try await self.intent(scaled, for: job.id, in: [.terminated])
        #expect(ended.node == id && ended.reason?.contains("idle") == true)
        let gone = try #require(try await moto.instances().first { $0.id == id })
        #expect(gone.state == "terminated")
        #expect(try await moto.instances().count == 1, "exactly one instance bought")
        let audit = try await scaled.client.allAudit().filter { $0.actor == "autoscaler" }
        #expect(audit.map(\.action) == ["launch aws instance", "terminate aws instance"] && audit.allSatisfy { $0.target == id })
    }

    @Test func aMachineThatDoesNotJoinInTimeIsTerminatedAndTheJobPlannedAgain() async throws {
        let directory = try freshDirectory()
        let moto = try await MotoServer(directory: directory)
        defer { moto.stop() }
        let scaled = try await start(moto, directory: directory, ["bootTimeoutMinutes": 0.05])
        defer { scaled.stop() }
        let job = try await gpuJob(scaled)
        let first = try await intent(scaled, for: job.id, in: [.terminated])
        #expect(first.reason?.contains("boot timeout") == true)
        let firstID = try #require(first.instanceID)
        #expect(try await moto.instances().first { $0.id == firstID }?.state == "terminated")
        // Planned again: a second machine for the same job.
        let second = try await scaled.eventually("a second machine") {
            try await scaled.client.autoscaler().instances.first {
                $0.jobs.contains(job.id.rawValue) && $0.instanceID != firstID && $0.instanceID != nil
            }
        }
        #expect(second.id != first.id)
    }

    @Test func killedBetweenRunInstancesAndRecordingItLeavesExactlyOneInstance() async throws {
        let directory = try freshDirectory()
        let moto = try await MotoServer(directory: directory)
        defer { moto.stop() }
        let proxyScript = try #require(Bundle.module.path(forResource: "crash_proxy", ofType: "py", inDirectory: "Fixtures"))
        let proxy = try LiveProcess(
            executable: "/usr/bin/env",
            arguments: ["python3", proxyScript, directory + "/proxy-port", moto.url, directory + "/server-pid"],
            directory: directory
        )
        defer { proxy.terminate(within: 5) }
        let port = try await eventually("the proxy's port") { FileManager.default.contents(atPath: directory + "/proxy-port") }
        var environment = moto.environment
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(String(decoding: port, as: UTF8.self))"
        let file = directory + "/autoscale.json"
        try Self.configuration(["pendingSeconds": 1]).write(toFile: file, atomically: true, encoding: .utf8)
        let scaled = try await LiveCluster(serverArguments: ["--autoscale", file], serverEnvironment: environment)
        defer { scaled.stop() }
        let pid = try #require(scaled.server.withLock { $0?.process.processIdentifier })
        try "\(pid)".write(toFile: directory + "/server-pid", atomically: true, encoding: .utf8)
        let job = try await gpuJob(scaled)
        // The proxy kills the server once moto has made the instance, before the server hears of it.
        _ = try await scaled.eventually("the server killed") { scaled.server.withLock { $0?.process.isRunning == false } ? true : nil }
        #expect(try await moto.instances().count == 1)
        try await scaled.startServerAgain()
        let adopted = try await intent(scaled, for: job.id, in: [.booting])
        let instances = try await moto.instances()
        #expect(instances.count == 1, "no second launch: \(instances.map(\.id))")
        #expect(adopted.instanceID == instances.first?.id && instances.first?.tags[ProvisioningTags.intent] == adopted.id)
    }

    @Test(arguments: ["max nodes", "max spend per hour"])
    func limitsRefuseLaunchesAndTheJobSaysWhy(_ reason: String) async throws {
        let changes: [String: Any] = reason == "max nodes" ? ["maxNodes": 1] : ["maxSpendPerHour": 0.1]
        let directory = try freshDirectory()
        let moto = try await MotoServer(directory: directory)
        defer { moto.stop() }
        let scaled = try await start(moto, directory: directory, changes)
        defer { scaled.stop() }
        // A 1-GPU job takes a whole g4dn.xlarge; with room for one machine at most, the second job gets none.
        let first = try await gpuJob(scaled)
        let second = try await gpuJob(scaled)
        // The oldest job is served first: the refusal lands on the second (under a spend limit that no machine
        // meets, on both, perhaps in two passes when the second arrived after the first pass), and `allot job` says it.
        let refused = try await scaled.eventually("the refusal on the second job") {
            if let said = try await scaled.client.job(second.id).provisioning, said.contains(reason) { return said }
            return nil
        }
        #expect(refused.contains("no machine bought"))
        if reason == "max spend per hour" { #expect(try await scaled.client.job(first.id).provisioning?.contains(reason) == true) }
        let shown = try await cliOutput(scaled, ["job", second.id.rawValue])
        #expect(shown.contains("autoscaler: no machine bought: ") && shown.contains(reason), "\(shown)")
        #expect(try await moto.instances().count == (reason == "max nodes" ? 1 : 0))
    }

    func freshDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-autoscale-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    func eventually<T>(_ what: String, within seconds: Double = 30, _ condition: () throws -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = try condition() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LiveError("\(what): not within \(seconds) s")
    }

    func cliOutput(_ cluster: LiveCluster, _ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try allotExecutable())
        process.arguments = arguments + ["--server", cluster.url, "--token", cluster.adminToken]
        let (output, _) = try await runToEnd(process, mergingErrors: true)
        return String(decoding: output, as: UTF8.self)
    }
}
