import AllotAPI
import AllotAWS
import AllotClient
import AllotStorage
import Foundation
import Testing

/// A job with inputs in S3 (moto's server): the agent copies them onto the node before the command starts,
/// the command reads them where `ALLOT_INPUT_<i>` says, and the copy is gone once the job ends; an input that
/// does not exist fails the job with the reason.
@Suite(.serialized) struct InputStagingTests {
    @Test func aJobReadsItsStagedS3InputsAndAMissingOneFailsIt() async throws {
        let cluster = try await LiveCluster()
        defer { cluster.stop() }
        let moto = try await MotoServer(directory: cluster.directory)
        defer { moto.stop() }
        try await S3Store(
            bucket: "data",
            prefix: "",
            region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"),
            endpoint: URL(string: moto.url)
        ).createBucket()
        // A prefix of two objects and one object of 1 MiB, put there with `allot data sync`.
        let local = cluster.directory + "/upload"
        try FileManager.default.createDirectory(atPath: local + "/set/deeper", withIntermediateDirectories: true)
        try "first clip\n".write(toFile: local + "/set/a.txt", atomically: true, encoding: .utf8)
        try "second clip\n".write(toFile: local + "/set/deeper/b.txt", atomically: true, encoding: .utf8)
        try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: local + "/weights.bin"))
        let sync = Process()
        sync.executableURL = URL(fileURLWithPath: try allotExecutable())
        sync.arguments = ["data", "sync", local, "s3://data/", "--no-progress"]
        sync.environment = ProcessInfo.processInfo.environment.merging(moto.environment.merging(["HOME": cluster.directory]) { _, new in new }) {
            _,
            new in new
        }
        #expect(try await runToEnd(sync).status == 0)

        try cluster.startAgent(
            "n1",
            resources: "cpu=4,memory=8GiB",
            environment: moto.environment.merging(["HOME": cluster.directory]) { _, new in new }
        )
        let client = cluster.client
        let joined = ContinuousClock.now
        while try await client.nodes().first(where: { $0.state == .ready }) == nil {
            guard ContinuousClock.now - joined < .seconds(60) else { throw LiveError("the agent did not join") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let script = "cat \"$ALLOT_INPUT_0/a.txt\" \"$ALLOT_INPUT_0/deeper/b.txt\"; wc -c < \"$ALLOT_INPUT_1\"; echo \"$ALLOT_INPUT_0\""
        let job = try await client.submit([
            "command": ["sh", "-c", script], "requests": ["cpu": "100m", "memory": "16MiB"],
            "inputs": ["s3://data/set/", "s3://data/weights.bin:1MiB"],
        ])
        let done = try await finished(job.id, client)
        #expect(done.state == .succeeded, "\(done.reason ?? "")")
        #expect(done.inputs?.map(\.url) == ["s3://data/set/", "s3://data/weights.bin"] && done.inputs?[1].bytes == 1 << 20)
        let total = Int64(1 << 20) + Int64("first clip\n".utf8.count + "second clip\n".utf8.count)
        #expect(done.staging == StagingProgress(bytesDone: total, bytes: total))
        let output = try await client.logs(job.id).map(\.text).joined()
        #expect(output.contains("first clip\nsecond clip\n1048576\n"), "\(output)")
        // The copy lived beside the agent's data and is gone now.
        let staged = try #require(output.split(separator: "\n").last.map(String.init))
        #expect(staged.contains("/inputs/"))
        #expect(!FileManager.default.fileExists(atPath: staged.hasPrefix("/") ? staged : cluster.directory + "/" + staged))

        let missing = try await client.submit([
            "command": ["true"], "requests": ["cpu": "100m", "memory": "16MiB"], "inputs": ["s3://data/nothing-here/"],
        ])
        let failed = try await finished(missing.id, client)
        #expect(failed.state == .failed)
        #expect(failed.reason?.contains("its inputs could not be staged") == true, "\(failed.reason ?? "")")
    }

    func finished(_ id: JobID, _ client: AllotClient) async throws -> Job {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(90) {
            let job = try await client.job(id).job
            if job.state.isTerminal { return job }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LiveError("\(id) did not finish within 90 s")
    }
}
