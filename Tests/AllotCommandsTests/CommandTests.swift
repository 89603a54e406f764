import AllotAPI
import AllotCLI
import AllotCore
import ArgumentParser
import Foundation
import Testing

@testable import AllotCommands

/// The commands as a user runs them: parsed from arguments, rendered, and failing with a clear message and a non-zero exit.
struct CommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let cluster = root.appendingPathComponent("examples/cluster.json").path
    static let tasks = root.appendingPathComponent("examples/tasks.json").path

    /// Writes a temporary file and returns its path.
    func temporary(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("allot-test-\(UUID().uuidString).json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Runs a command line in-process: its output, or the error message and exit code the executable would print and return.
    func run(_ arguments: [String]) -> (output: String, message: String?, exitCode: Int32) {
        do {
            var command = try Allot.parseAsRoot(arguments)
            switch command {
            case let plan as PlanCommand: return (try plan.render(), nil, 0)
            case let estimate as EstimateCommand: return (try estimate.render(), nil, 0)
            case let bench as SchedulerBenchCommand: return (try bench.render(), nil, 0)
            case let discover as DiscoverCommand: return (try discover.render(), nil, 0)
            default:
                try command.run()
                return ("", nil, 0)
            }
        } catch {
            return ("", Allot.message(for: error), Allot.exitCode(for: error).rawValue)
        }
    }

    @Test func planPrintsTheDocumentedJSON() throws {
        let result = run(["plan", "--cluster", Self.cluster, "--tasks", Self.tasks, "--backfill", "--output", "json"])
        #expect(result.exitCode == 0, "\(result.message ?? "")")
        let fields = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as! [String: Any]
        #expect(Set(fields.keys) == ["placements", "pending", "preempted", "utilization", "bottlenecks"])
        // The same input prints the same bytes.
        #expect(run(["plan", "--cluster", Self.cluster, "--tasks", Self.tasks, "--backfill", "--output", "json"]).output == result.output)
        let report = try JSONDecoder().decode(PlanReport.self, from: Data(result.output.utf8))
        #expect(report.placements.map(\.task).contains("vla-policy-serve"))
        #expect(report.pending.map(\.task) == ["vla-pretrain"])
        #expect(report.pending.first?.reason.contains("H100") == true)
        #expect(report.utilization.overall > 0 && report.utilization.overall < 1)
    }

    @Test func planTableNamesEverySection() {
        let result = run(["plan", "--cluster", Self.cluster, "--tasks", Self.tasks])
        #expect(result.exitCode == 0)
        for section in ["PLACEMENTS", "PENDING", "UTILIZATION overall", "BOTTLENECKS"] { #expect(result.output.contains(section)) }
        // Strict priority without backfill: the blocked gang holds back the tasks behind it.
        #expect(result.output.contains("waits behind vla-pretrain"))
    }

    @Test func planUsesTheWorkedExampleNumbers() throws {
        let cluster = try temporary(#"{"nodes":[{"name":"n1","gpus":[{"memory":"10GiB"},{"memory":"8GiB"}]}]}"#)
        let tasks = try temporary(
            #"{"tasks":[{"id":"a","requests":{"gpuMemory":"4GiB"}},{"id":"b","requests":{"gpuMemory":"6GiB"}},{"id":"c","requests":{"gpuMemory":"5GiB"}}]}"#
        )
        for (strategy, overall) in [("first-fit", 0.8125), ("worst-fit", 0.825)] {
            let result = run([
                "plan", "--cluster", cluster, "--tasks", tasks, "--strategy", strategy, "--headroom", "0", "--policy", "fifo", "--output", "json",
            ])
            let report = try JSONDecoder().decode(PlanReport.self, from: Data(result.output.utf8))
            #expect(abs(report.utilization.overall - overall) < 1e-9)
        }
    }

    @Test(arguments: [
        (["--strategy", "fastest"], #"--strategy: invalid value "fastest": unknown strategy"#),
        (["--policy", "random"], #"--policy: invalid value "random": unknown policy"#),
        (["--headroom", "0.5"], #"--headroom: invalid value "0.5": must be between 0.0 and 0.3"#),
        (["--preset", "huge"], #"--preset: invalid value "huge""#),
        (["--min-run=-5"], #"--min-run: invalid value "-5": must be a finite number of seconds, 0 or more"#),
        (["--defragment", "--no-preemption"], #"--defragment: invalid value "true": moves running work, which --no-preemption forbids"#),
        (["--output", "xml"], "The value 'xml' is invalid for '--output <output>'"),
    ])
    func badFlagsFailClearly(flags: [String], message: String) {
        let result = run(["plan", "--cluster", Self.cluster, "--tasks", Self.tasks] + flags)
        #expect(result.exitCode != 0)
        #expect(result.message?.contains(message) == true, "got \(result.message ?? "nil")")
    }

    @Test func badFilesFailClearly() throws {
        let missing = run(["plan", "--cluster", "/nonexistent/cluster.json", "--tasks", Self.tasks])
        #expect(missing.exitCode != 0)
        #expect(missing.message == "--cluster: cannot read /nonexistent/cluster.json: no such file or not readable")
        let tooBig = try temporary(#"{"tasks":[{"id":"huge","requests":{"gpus":16,"gpuModel":"H100"}}]}"#)
        // A task that can never fit is planned as pending, unschedulable, with the reason; the plan succeeds.
        let infeasible = run(["plan", "--cluster", Self.cluster, "--tasks", tooBig, "--output", "json"])
        #expect(infeasible.exitCode == 0, "\(infeasible.message ?? "")")
        let report = try JSONDecoder().decode(PlanReport.self, from: Data(infeasible.output.utf8))
        #expect(
            report.pending.map { [$0.task, $0.reason] } == [
                [
                    "huge",
                    "unschedulable: fits no node even when the cluster is empty: insufficient free H100 GPUs on one node: needs 16, the largest node offers 8",
                ]
            ]
        )
        let wideGang = try temporary(#"{"tasks":[{"id":"wide","gang":3,"requests":{"gpus":8,"gpuModel":"H100"}}]}"#)
        let wide = run(["plan", "--cluster", Self.cluster, "--tasks", wideGang])
        #expect(wide.exitCode == 0 && wide.output.contains("gang of 3 is larger than the cluster"), "\(wide.output)")
        let unknownValue = try temporary(#"{"tasks":[{"id":"x","class":"urgent"}]}"#)
        #expect(
            run(["plan", "--cluster", Self.cluster, "--tasks", unknownValue]).message?.contains(#"tasks[0].class: invalid value "urgent""#) == true
        )
        let negative = try temporary(#"{"nodes":[{"name":"n1","memory":"-8GiB"}]}"#)
        #expect(run(["plan", "--cluster", negative, "--tasks", Self.tasks]).message?.contains("nodes[0].memory") == true)
    }

    @Test func estimateReportsTheParts() throws {
        let result = run([
            "estimate", "--params", "7B", "--dtype", "bf16", "--batch", "8", "--seq", "2048", "--mode", "inference", "--output", "json",
        ])
        #expect(result.exitCode == 0, "\(result.message ?? "")")
        let fields = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as! [String: Any]
        #expect((fields["weightsBytes"] as? NSNumber)?.int64Value == 14_000_000_000)
        // 2 · 32 layers · 4096 · 2048 tokens · 8 sequences · 2 bytes.
        let kvCache: Int64 = 2 * 32 * 4096 * 2048 * 8 * 2
        #expect((fields["kvCacheBytes"] as? NSNumber)?.int64Value == kvCache)
        let table = run(["estimate", "--params", "7B", "--mode", "training", "--gpu-memory", "80GiB"])
        #expect(table.output.contains("optimizer states"))
        #expect(table.output.contains("gpus: "))
    }

    @Test(arguments: [
        (["--params", "7B", "--dtype", "fp12"], #"--dtype: invalid value "fp12""#),
        (["--params", "lots"], #"--params: invalid value "lots""#),
        (["--params", "7B", "--mode", "serving"], #"--mode: invalid value "serving""#),
        (["--params", "7B", "--batch", "0"], #"--batch: invalid value "0""#),
        (["--params", "7B", "--gpu-memory", "80 gigs"], #"--gpu-memory: invalid value "80 gigs""#),
    ])
    func estimateRefusesBadInput(arguments: [String], message: String) {
        let result = run(["estimate"] + arguments)
        #expect(result.exitCode != 0)
        #expect(result.message?.contains(message) == true, "got \(result.message ?? "nil")")
    }

    @Test func benchPrintsFigures() throws {
        let result = run(["bench", "scheduler", "--nodes", "200", "--tasks", "2000", "--output", "json"])
        #expect(result.exitCode == 0, "\(result.message ?? "")")
        let fields = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as! [String: Any]
        #expect((fields["placed"] as? Int ?? 0) > 0)
        #expect((fields["latencyP99Microseconds"] as? Double ?? -1) >= (fields["latencyP50Microseconds"] as? Double ?? 0))
        #expect(run(["bench", "scheduler", "--nodes", "0"]).exitCode != 0)
    }

    @Test func deepQueueBenchPlacesOnlyWhatFits() throws {
        let result = run(["bench", "scheduler", "--pending", "2000", "--fitting", "0.01", "--policy", "las", "--output", "json"])
        #expect(result.exitCode == 0, "\(result.message ?? "")")
        let rows = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as! [[String: Any]]
        #expect(rows.count == 1 && rows[0]["policy"] as? String == "las")
        #expect(rows[0]["placed"] as? Int == 20, "one queued task in 100 fits")
        #expect(run(["bench", "scheduler", "--pending", "10", "--fitting", "0"]).exitCode != 0)
    }

    @Test func discoverReportsThisMachineOrTheDeclaredOne() throws {
        let result = run(["discover", "--name", "fake", "--resources", "cpu=8,memory=32GiB,gpus=2xA100:80GiB", "--output", "json"])
        #expect(result.exitCode == 0, "\(result.message ?? "")")
        let inventory = try JSONDecoder().decode(NodeInventory.self, from: Data(result.output.utf8))
        #expect(inventory.name == "fake" && inventory.nodeSpec.capacity.cpuMillis == 8000 && inventory.gpus.count == 2)
        let bad = run(["discover", "--resources", "gpus=two"])
        #expect(bad.exitCode != 0 && bad.message?.contains("--resources.gpus") == true)
    }

    @Test func apiBenchSubmitsDurablyOverHTTP() async throws {
        let command = try APIBenchCommand.parse(["--jobs", "300", "--concurrency", "8"])
        let (result, deep) = try await command.measure()
        #expect(result.created == 300 && result.failed == 0)
        #expect(result.storedJobs == 300)
        #expect(result.latencyP99Milliseconds >= result.latencyP50Milliseconds)
        #expect(deep == nil)
    }

    /// `--pending`: a second measurement with that many GPU jobs waiting for a cordoned node.
    @Test func apiBenchMeasuresAgainBehindADeepQueue() async throws {
        let command = try APIBenchCommand.parse(["--jobs", "100", "--concurrency", "8", "--pending", "300"])
        let (empty, deep) = try await command.measure()
        #expect(empty.created == 100 && empty.failed == 0)
        let behind = try #require(deep)
        #expect(behind.created == 100 && behind.failed == 0 && behind.submissionsPerSecond > 0)
    }
}

/// Names and reasons reach the terminal escaped: no escape sequence or bidirectional override from a job's
/// name moves the cursor, recolours the screen or reverses the text.
@Suite struct TerminalOutputTests {
    @Test func controlAndBidiCharactersAreShownEscaped() {
        var table = TextTable(["NAME", "STATE"])
        table.add(["evil\u{1B}[2J\u{1B}]0;pwned\u{07}", "pending"])
        table.add(["invoice\u{202E}fdp.exe", "running"])
        table.add(["plain ünïcode 名前", "ok"])
        let text = table.render()
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(!text.unicodeScalars.contains { $0.value == 0x202E })
        #expect(text.contains(#"evil\u{1B}[2J\u{1B}]0;pwned\u{7}"#))
        #expect(text.contains(#"invoice\u{202E}fdp.exe"#))
        #expect(text.contains("plain ünïcode 名前"))
    }
}
