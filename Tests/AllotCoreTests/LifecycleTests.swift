import Testing

@testable import AllotCore

struct LifecycleTests {
    @Test func aLostNodeRequeuesItsTasksWhole() throws {
        var scheduler = makeScheduler()
        try scheduler.addNode(gpuNode("n1", [80]))
        try scheduler.addNode(gpuNode("n2", [80]))
        try scheduler.submit(TaskSpec(id: "gang", requests: ResourceRequest(gpus: 1), gang: 2), now: 0)
        #expect(scheduler.schedule(now: 0).bound == ["gang"])
        let actions = try scheduler.removeNode("n2", reason: "node down")
        #expect(actions == [.requeue("gang", reason: "node down: n2")])
        #expect(scheduler.phase(of: "gang") == .pending)
        #expect(scheduler.utilization().pools.allSatisfy { $0.used == 0 })
        #expect(scheduler.schedule(now: 1).isEmpty)
        try scheduler.addNode(gpuNode("n3", [80]))
        #expect(scheduler.schedule(now: 2).bound == ["gang"])
    }

    @Test func cordonedNodesTakeNoNewWork() throws {
        var scheduler = makeScheduler()
        try scheduler.addNode(cpuNode("n1", cpu: 4, memoryGiB: 8))
        try scheduler.cordon("n1")
        try scheduler.submit(cpuTask("a", cpu: 1, memoryGiB: 1), now: 0)
        #expect(scheduler.schedule(now: 0).isEmpty)
        #expect(scheduler.pendingReason("a") == "no node is schedulable (all cordoned or down)")
        try scheduler.uncordon("n1")
        #expect(scheduler.schedule(now: 1).bound == ["a"])
    }

    @Test func finishingFreesResourcesForTheNextTask() throws {
        var scheduler = makeScheduler()
        try scheduler.addNode(cpuNode("n1", cpu: 2, memoryGiB: 8))
        try scheduler.submit(cpuTask("a", cpu: 2, memoryGiB: 1), now: 0)
        try scheduler.submit(cpuTask("b", cpu: 2, memoryGiB: 1), now: 0)
        #expect(scheduler.schedule(now: 0).bound == ["a"])
        try scheduler.finish("a")
        #expect(scheduler.phase(of: "a") == nil)
        #expect(scheduler.schedule(now: 1).bound == ["b"])
        try scheduler.requeue("b")
        #expect(scheduler.phase(of: "b") == .pending)
        #expect(scheduler.schedule(now: 2).bound == ["b"])
    }

    @Test func badEventsAreRefusedWithCodes() throws {
        var scheduler = makeScheduler()
        try scheduler.addNode(cpuNode("n1", cpu: 4, memoryGiB: 8))
        #expect(throws: SchedulerError(.duplicateNode, "node n1 is already known")) { try scheduler.addNode(cpuNode("n1", cpu: 1, memoryGiB: 1)) }
        #expect(throws: SchedulerError(.unknownNode, "unknown node n9")) { try scheduler.cordon("n9") }
        #expect(throws: SchedulerError(.unknownTask, "unknown task x")) { try scheduler.finish("x") }
        try scheduler.submit(cpuTask("a", cpu: 1, memoryGiB: 1), now: 0)
        #expect(throws: SchedulerError(.duplicateTask, "task a is already known")) {
            try scheduler.submit(cpuTask("a", cpu: 1, memoryGiB: 1), now: 0)
        }
        #expect(throws: SchedulerError(.invalidState, "task a is not running")) { try scheduler.requeue("a") }
    }

    @Test func infeasibleTasksAreRefusedWithTheResourceNamed() throws {
        var scheduler = makeScheduler()
        try scheduler.addNode(gpuNode("n1", [80, 80], cpu: 16, memoryGiB: 64))
        try scheduler.addNode(cpuNode("n2", cpu: 8, memoryGiB: 32))
        func refusal(_ task: TaskSpec) -> String? {
            do {
                try scheduler.submit(task, now: 0)
                return nil
            } catch {
                return error.code == .infeasible ? error.message : "wrong code \(error.code)"
            }
        }
        #expect(
            refusal(cpuTask("huge", cpu: 32, memoryGiB: 1))
                == "task huge fits no node even when the cluster is empty: insufficient cpu: needs 32, the largest node offers 16"
        )
        #expect(
            refusal(TaskSpec(id: "h100", requests: ResourceRequest(gpus: 1, gpuModel: "H100")))
                == "task h100 fits no node even when the cluster is empty: insufficient free H100 GPUs on one node: needs 1, the largest node offers 0"
        )
        #expect(
            refusal(TaskSpec(id: "wide", requests: ResourceRequest(gpus: 1), gang: 3))
                == "task wide: gang of 3 is larger than the cluster: at most 2 replicas fit even when it is empty"
        )
        #expect(
            refusal(cpuTask("both", cpu: 12, memoryGiB: 48)) == nil
        )
        #expect(
            refusal(TaskSpec(id: "mixed", requests: ResourceRequest(resources: ResourceVector(cpuMillis: 10_000, memoryBytes: 60 * GiB), gpus: 1)))
                == nil
        )
        #expect(
            refusal(TaskSpec(id: "none", requests: ResourceRequest(resources: ResourceVector(cpuMillis: 12_000, memoryBytes: 60 * GiB), gpus: 0)))
                == nil
        )
        #expect(
            refusal(TaskSpec(id: "apart", requests: ResourceRequest(resources: ResourceVector(cpuMillis: 8_000, extended: ["fpga": 1]))))
                == "task apart fits no node even when the cluster is empty: insufficient fpga: needs 1, the largest node offers 0"
        )
    }

    @Test func invalidTasksNameTheField() {
        var scheduler = makeScheduler()
        var task = cpuTask("a", cpu: 2, memoryGiB: 1, limitCPU: 1)
        #expect(throws: SchedulerError(.invalidTask, "task a: limits.cpu 1 is below requests.cpu 2")) { try scheduler.submit(task, now: 0) }
        task = cpuTask("g", cpu: 1, memoryGiB: 1)
        task.gang = 0
        #expect(throws: SchedulerError(.invalidTask, "task g: gang must be at least 1 (got 0)")) { try scheduler.submit(task, now: 0) }
    }
}
