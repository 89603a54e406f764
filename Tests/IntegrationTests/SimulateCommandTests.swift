import Foundation
import Testing

/// `allot simulate` as a user runs it: separate processes (each with its own hash seed) must print the same.
@Suite struct SimulateCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func simulate(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try allotExecutable())
        process.arguments = ["simulate"] + arguments
        process.currentDirectoryURL = Self.repository
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // A replay that never ends fails the test instead of holding up the run.
        DispatchQueue.global().asyncAfter(deadline: .now() + 120) { if process.isRunning { process.terminate() } }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }

    @Test func separateRunsPrintTheSameAndMeetTheTarget() throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("allot-sim-\(UUID().uuidString).html").path
        defer { try? FileManager.default.removeItem(atPath: report) }
        let arguments = [
            "--trace", "data/traces/philly/subsets/philly100_2017-10-03.csv", "--nodes", "4", "--gpus-per-node", "4",
            "--estimate-error", "0.5", "--seed", "3", "--output", "json",
        ]
        let first = try simulate(arguments + ["--report", report])
        let second = try simulate(arguments)
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output == second.output)
        #expect(first.errors.contains("wall time"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(first.output.utf8)) as? [String: Any])
        let policies = try #require(document["policies"] as? [[String: Any]])
        #expect(policies.compactMap { $0["policy"] as? String } == ["fifo", "priority", "fair", "las", "gittins", "srtf", "backfill"])
        let las = try #require(policies.first { $0["policy"] as? String == "las" })
        #expect(try #require(las["averageJCT"] as? Double) <= 5500)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(html.components(separatedBy: "<svg ").count == 5)
    }

    /// Three equal jobs on one node under a starvation guard of 1: without a minimum run they evict one another
    /// faster than they progress and the replay never ends; the guard's default minimum run ends it.
    @Test func theStarvationGuardsDefaultMinimumRunLetsEveryJobEnd() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-sim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let trace = directory.appendingPathComponent("three.csv").path
        let outcomes = directory.appendingPathComponent("outcomes.csv").path
        try "job_id,arrival_s,num_gpus,duration_s,vc\n0,0,4,1000,a\n1,1,4,1000,b\n2,2,4,1000,c\n".write(
            toFile: trace,
            atomically: true,
            encoding: .utf8
        )
        let result = try simulate([
            "--trace", trace, "--format", "philly", "--nodes", "1", "--gpus-per-node", "4", "--policy", "las",
            "--las-thresholds", "60,120,240,480,960", "--las-starvation", "1", "--outcomes", outcomes, "--output", "json",
        ])
        #expect(result.status == 0, "\(result.errors)")
        let rows = try String(contentsOfFile: outcomes, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 4 && rows.dropFirst().allSatisfy { $0.hasPrefix("las,") })
        let refused = try simulate(["--trace", trace, "--format", "philly", "--nodes", "1", "--min-run=-1"])
        #expect(refused.status != 0 && refused.errors.contains("--min-run must be a finite number of seconds"))
    }

    @Test func badArgumentsAreNamed() throws {
        let missing = try simulate(["--trace", "data/traces/nope.csv", "--nodes", "2"])
        #expect(missing.status != 0 && missing.errors.contains("--trace: cannot read data/traces/nope.csv"))
        let policy = try simulate(["--trace", "data/traces/philly/subsets/philly100_2017-10-03.csv", "--nodes", "2", "--policy", "sjf"])
        #expect(policy.status != 0 && policy.errors.contains("unknown policy \"sjf\""))
        let cluster = try simulate(["--trace", "data/traces/philly/subsets/philly100_2017-10-03.csv"])
        #expect(cluster.status != 0 && cluster.errors.contains("give --cluster FILE or --nodes N"))
    }
}
