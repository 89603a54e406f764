import Testing

@testable import AllotAgent

/// Two agents on one host (of one cluster or two) name their jobs' cgroups apart.
struct CgroupNameTests {
    @Test func eachAgentNamesItsOwnGroups() {
        let first = AgentService.instanceName(node: "n1", stateFile: "/srv/a/.allot/agent-n1.json")
        #expect(first == AgentService.instanceName(node: "n1", stateFile: "/srv/a/.allot/agent-n1.json"))
        #expect(first.hasPrefix("n1-") && first.count == "n1-".count + 8)
        // Another cluster's agent with the same node name, and another agent of this cluster.
        #expect(first != AgentService.instanceName(node: "n1", stateFile: "/srv/b/.allot/agent-n1.json"))
        #expect(first != AgentService.instanceName(node: "n2", stateFile: "/srv/a/.allot/agent-n1.json"))
        let group = CgroupLimits.groupName(first + "-job-1#1#0")
        #expect(group.hasPrefix("n1-") && group.hasSuffix("-job-1_1_0") && !group.contains("/"))
    }
}
