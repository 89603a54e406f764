import AllotCore
import Testing

@testable import AllotAPI

struct FileFormatTests {
    func json(_ text: String) throws -> JSONValue { try parseJSON(Array(text.utf8), name: "test.json") }

    func inputError(_ body: () throws -> Void) -> InputError? {
        do {
            try body()
            return nil
        } catch let error as InputError {
            return error
        } catch {
            return InputError(path: "?", "\(error)")
        }
    }

    @Test func clusterFileWithEveryFieldButNameOptional() throws {
        let nodes = try ClusterFile.decode(
            try json(
                """
                {"nodes":[{"name":"n1","cpu":4,"memory":"8GiB","gpus":[{"model":"A100","memory":"16GiB"}]},
                          {"name":"n2"},
                          {"name":"n3","cpu":"500m","memory":1024,"disk":"1TB","network":"10G","gpus":8,"gpuModel":"H100","gpuMemory":"80GiB",
                           "extended":{"example.com/fpga":2},"labels":{"zone":"a"}}]}
                """
            )
        )
        #expect(nodes.count == 3)
        #expect(nodes[0].capacity.cpuMillis == 4000 && nodes[0].capacity.memoryBytes == 8 * 1_073_741_824)
        #expect(nodes[0].gpus == [GPUDevice(index: 0, model: "A100", memoryBytes: 16 * 1_073_741_824)])
        #expect(nodes[1].capacity == .zero && nodes[1].gpus.isEmpty)
        #expect(nodes[2].capacity.cpuMillis == 500 && nodes[2].capacity.memoryBytes == 1024 && nodes[2].capacity.diskBytes == 1_000_000_000_000)
        #expect(nodes[2].capacity.networkBitsPerSecond == 10_000_000_000 && nodes[2].capacity.extended == ["example.com/fpga": 2])
        #expect(nodes[2].gpus.count == 8 && nodes[2].gpus[7].index == 7 && nodes[2].gpus[7].model == "H100")
        #expect(nodes[2].labels == ["zone": "a"])
    }

    @Test(arguments: [
        (#"{"nodes":[{"name":"n1","memroy":"8GiB"}]}"#, "nodes[0].memroy: unknown field"),
        (#"{"nodes":[{"name":"n1","memory":"8 gigs"}]}"#, #"nodes[0].memory: invalid value "8 gigs""#),
        (#"{"nodes":[{"name":"n1","cpu":-2}]}"#, #"nodes[0].cpu: invalid value "-2": must not be negative"#),
        (#"{"nodes":[{"cpu":2}]}"#, "nodes[0].name: required"),
        (#"{"nodes":[{"name":"a"},{"name":"a"}]}"#, #"nodes[1].name: duplicate node name "a""#),
        (#"{"nodes":[{"name":"a","gpus":[{"memory":"16GiB","index":0},{"index":0}]}]}"#, "nodes[0].gpus[1].index: duplicate GPU index 0"),
        (#"{"machines":[]}"#, "machines: unknown field"),
        (#"{"nodes":[{"name":"a","gpus":"two"}]}"#, "nodes[0].gpus: expected a list of GPUs or a count, found a string"),
    ])
    func badClusterFilesNameTheField(text: String, message: String) throws {
        let error = inputError { _ = try ClusterFile.decode(try json(text)) }
        #expect(error?.description.hasPrefix(message) == true, "got \(String(describing: error))")
    }

    @Test func taskFileWithRunningAndQueuedTasks() throws {
        let file = try TaskFile.decode(
            try json(
                """
                {"running":[{"id":"A","node":"n1","gpus":[0],"requests":{"gpuMemory":"8GiB"},"remaining":600},
                            {"id":"G","gang":2,"replicas":[{"node":"n1","gpus":[1]},{"node":"n2","gpus":[0]}],"requests":{"gpus":1}}],
                 "tasks":[{"id":"B","tenant":"t1","priority":2,"class":"standard",
                           "requests":{"cpu":1,"memory":"2GiB","gpus":1,"gpuModel":"A100","gpuMemory":"8GiB"},
                           "limits":{"cpu":2},"gang":1,"preemptible":true,"estimate":3600},
                          {"id":"C","class":"best-effort"}]}
                """
            )
        )
        #expect(file.running.count == 2)
        #expect(file.running[0].remainingSeconds == 600 && file.running[0].replicas.first?.gpuIndices == [0])
        #expect(file.running[1].replicas.map(\.node) == ["n1", "n2"])
        let b = file.tasks[0]
        #expect(b.tenant == "t1" && b.priority == 2 && b.slaClass == .standard && b.preemptible && b.estimateSeconds == 3600)
        #expect(b.requests.resources.cpuMillis == 1000 && b.requests.gpus == 1 && b.requests.gpuModel == "A100")
        #expect(b.requests.gpuMemoryBytes == 8 * 1_073_741_824 && b.limits?.cpuMillis == 2000)
        #expect(file.tasks[1].slaClass == .bestEffort)
    }

    @Test(arguments: [
        (#"{"tasks":[{"id":"a","class":"urgent"}]}"#, #"tasks[0].class: invalid value "urgent": use critical, standard or best-effort"#),
        (#"{"tasks":[{"id":"a","requests":{"memory":"-1GiB"}}]}"#, #"tasks[0].requests.memory: invalid value "-1GiB": must not be negative"#),
        (#"{"tasks":[{"id":"a","requests":{"cpu":"lots"}}]}"#, #"tasks[0].requests.cpu: invalid value "lots""#),
        (#"{"tasks":[{"id":"a","gang":0}]}"#, #"tasks[0].gang: invalid value "0": must be at least 1"#),
        (#"{"tasks":[{"id":"a","priority":1.5}]}"#, #"tasks[0].priority: invalid value "1.5": expected a whole number"#),
        (#"{"tasks":[{"id":"a"},{"id":"a"}]}"#, #"tasks[1].id: duplicate task id "a""#),
        (#"{"tasks":[{"id":"a","estimate":-5}]}"#, #"tasks[0].estimate: invalid value "-5": must not be negative"#),
        (#"{"tasks":[{"id":"a","requests":{"gpuMemory":0}}]}"#, #"tasks[0].requests.gpuMemory: invalid value "0": must be positive"#),
        (#"{"tasks":[{"id":"a","preemptible":"yes"}]}"#, "tasks[0].preemptible: expected true or false, found a string"),
        (#"{"tasks":[{"id":"a"}"#, "test.json: not valid JSON"),
    ])
    func badTaskFilesNameTheField(text: String, message: String) throws {
        let error = inputError { _ = try TaskFile.decode(try json(text)) }
        #expect(error?.description.hasPrefix(message) == true, "got \(String(describing: error))")
    }

    @Test func plannerReportsPlacementsPendingAndUtilization() throws {
        let nodes = try ClusterFile.decode(try json(#"{"nodes":[{"name":"n1","gpus":[{"model":"A100","memory":"16GiB"}]}]}"#))
        let tasks = try TaskFile.decode(
            try json(
                #"{"running":[{"id":"A","node":"n1","gpus":[0],"requests":{"gpuMemory":"8GiB"},"remaining":600}],"tasks":[{"id":"B","priority":2,"requests":{"gpuMemory":"16GiB"}},{"id":"C","priority":1,"requests":{"gpuMemory":"8GiB"},"estimate":300}]}"#
            )
        )
        var configuration = SchedulerConfiguration(headroom: 0)
        let strict = try Planner.plan(nodes: nodes, tasks: tasks, configuration: configuration)
        #expect(strict.placements.isEmpty)
        #expect(strict.pending.map(\.task) == ["B", "C"])
        #expect(strict.utilization.overall == 0.5)
        configuration.backfill = true
        let backfilled = try Planner.plan(nodes: nodes, tasks: tasks, configuration: configuration)
        #expect(
            backfilled.placements == [
                PlanReport.Placement(task: "C", replica: nil, node: "n1", gpus: [0], cpu: 0, memory: 0, gpuMemory: 8 * 1_073_741_824)
            ]
        )
        #expect(backfilled.bottlenecks == [PlanReport.BottleneckEntry(node: "n1", resource: "gpu0.memory", utilization: 1, severity: .high)])
    }

    @Test func aTaskThatCanNeverRunIsPendingUnschedulableAndTheRestIsPlanned() throws {
        let nodes = try ClusterFile.decode(
            try json(#"{"nodes":[{"name":"n1","cpu":4,"memory":"8GiB","gpus":1},{"name":"n2","cpu":4,"memory":"8GiB","gpus":1}]}"#)
        )
        let tasks = try TaskFile.decode(
            try json(
                #"{"tasks":[{"id":"ok","requests":{"cpu":1}},{"id":"big","requests":{"cpu":64}},{"id":"wide","gang":3,"requests":{"gpus":1}},{"id":"also","requests":{"cpu":1}}]}"#
            )
        )
        let report = try Planner.plan(nodes: nodes, tasks: tasks, configuration: SchedulerConfiguration())
        #expect(Set(report.placements.map(\.task)) == ["ok", "also"])
        #expect(report.pending.map(\.task) == ["big", "wide"])
        #expect(
            report.pending.first?.reason
                == "unschedulable: fits no node even when the cluster is empty: insufficient cpu: needs 64, the largest node offers 3.6"
        )
        #expect(report.pending.last?.reason.hasPrefix("unschedulable: ") == true, "\(report.pending)")

        let running = try TaskFile.decode(try json(#"{"running":[{"id":"r","node":"n9","requests":{"cpu":1}}]}"#))
        #expect(
            inputError { _ = try Planner.plan(nodes: nodes, tasks: running, configuration: SchedulerConfiguration()) }?.description
                == "running[0]: unknown node n9"
        )
    }
}

struct ObjectiveTests {
    @Test func knownWaitsGiveTheObjective() throws {
        let nodes = try ClusterFile.decode(try parseJSON(Array(#"{"nodes":[{"name":"n1","cpu":2,"memory":"4GiB"}]}"#.utf8), name: "c"))
        let tasks = try TaskFile.decode(
            try parseJSON(
                Array(
                    #"{"now":7200,"tasks":[{"id":"a","requests":{"cpu":2},"submitted":0},{"id":"b","requests":{"cpu":2},"submitted":3600}]}"#.utf8
                ),
                name: "t"
            )
        )
        let report = try Planner.plan(nodes: nodes, tasks: tasks, configuration: SchedulerConfiguration(headroom: 0))
        let objective = try #require(report.objective)
        // a starts now after 7200 s, b still waits after 3600 s: mean 5400 s; CPU full, memory empty: overall 0.5.
        #expect(objective.meanWaitSeconds == 5400)
        #expect(report.utilization.overall == 0.5)
        #expect(abs(objective.value - (1 * 0.5 + 5400.0 / 3600)) < 1e-12)
    }

    @Test func withoutNowThereIsNoObjective() throws {
        let nodes = try ClusterFile.decode(try parseJSON(Array(#"{"nodes":[{"name":"n1","cpu":2}]}"#.utf8), name: "c"))
        let tasks = try TaskFile.decode(try parseJSON(Array(#"{"tasks":[{"id":"a","requests":{"cpu":1}}]}"#.utf8), name: "t"))
        #expect(try Planner.plan(nodes: nodes, tasks: tasks, configuration: SchedulerConfiguration()).objective == nil)
        #expect(throws: InputError.self) {
            try TaskFile.decode(try parseJSON(Array(#"{"tasks":[{"id":"a","submitted":5}]}"#.utf8), name: "t"))
        }
    }
}
