import AllotAPI
import AllotCore
import Testing

@testable import AllotCommands

struct TopViewTests {
    @Test func aFrameShowsResourcesNodesGPUsQueueAndBottlenecksWithinTheWidth() {
        let node = NodeStatus(
            name: "gpu-node-1",
            inventory: NodeInventory(
                name: "gpu-node-1",
                cpu: NodeInventory.CPU(model: "test", logicalCores: 16),
                memoryBytes: 64 << 30,
                gpus: [NodeInventory.GPU(index: 0, uuid: nil, name: "NVIDIA H100 80GB HBM3", memoryTotalBytes: 80 << 30)]
            ),
            joinedAt: 0,
            lastHeartbeatAt: 0
        )
        let utilization = UtilizationView(
            time: 100,
            resources: [UtilizationView.Resource(name: "gpus", capacity: 1, allocated: 1, used: 0.97)],
            allocatedOverall: 1,
            usedOverall: 0.5,
            nodes: [],
            allocatedPools: [.init(node: "gpu-node-1", resource: "gpu0.memory", used: 80, capacity: 80)],
            usedPools: [.init(node: "gpu-node-1", resource: "gpu0.compute", used: 0.97, capacity: 1)]
        )
        var job = Job(
            id: "job-7",
            task: TaskSpec(id: "job-7", requests: ResourceRequest(gpus: 1)),
            command: ["train"],
            environment: [:],
            maxAttempts: 1,
            state: .pending,
            sequence: 7,
            submittedAt: 100 - 125
        )
        job.reason = "no node has 1 free GPU"
        let frame = TopView(
            time: 100,
            utilization: utilization,
            nodes: [node],
            pending: [JobView(job: job, queuePosition: 1, estimatedStartAt: nil)],
            bottlenecks: [
                BottleneckView(
                    node: "gpu-node-1",
                    resource: "gpu0.compute",
                    basis: "usage",
                    utilization: 0.97,
                    severity: .high,
                    action: .addCapacity,
                    recommendation: "add GPU compute capacity"
                )
            ]
        ).render(width: 100)
        #expect(frame.contains("gpus"))
        #expect(frame.contains("1 (100 %)"))
        #expect(frame.contains("gpu-node-1  0    NVIDIA H100 80GB HBM3  [##########] 100 %"))
        #expect(frame.contains("[##########]  97 %"))
        #expect(frame.contains("QUEUE  1 pending, oldest waiting 2m5s"))
        #expect(frame.contains("job-7"))
        #expect(frame.contains("BOTTLENECKS  1"))
        #expect(frame.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }
}
