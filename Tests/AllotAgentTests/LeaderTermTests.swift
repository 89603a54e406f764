import AllotAPI
import AllotClient
import Foundation
import Logging
import Testing

@testable import AllotAgent

/// Several servers on one store: an agent follows the newest leader's directives and refuses an older one's.
struct LeaderTermTests {
    func directive(term: Int64?, version: Int, epoch: String = "e1") -> AgentDirective {
        AgentDirective(epoch: epoch, version: version, assignments: [], scanIntervalSeconds: 5, gracePeriodSeconds: 1, term: term)
    }

    @Test func aDirectiveOfAnOlderTermIsRefused() async throws {
        let agent = AgentService(
            client: AllotClient(server: URL(string: "http://127.0.0.1:9")!, token: "t"),
            inventory: NodeInventory(name: "n1", cpu: NodeInventory.CPU(model: "x", logicalCores: 1), memoryBytes: 1 << 30),
            discovery: NodeDiscovery(name: "n1", diskPaths: ["/"]),
            stateFile: nil,
            logger: Logger(label: "test")
        )
        await agent.apply(directive(term: 2, version: 5, epoch: "new-leader"))
        // The deposed leader (term 1) answers a poll late: its directive changes nothing.
        await agent.apply(directive(term: 1, version: 9, epoch: "old-leader"))
        #expect(await agent.applied?.epoch == "new-leader")
        #expect(await agent.term == 2)
        await agent.apply(directive(term: 3, version: 1, epoch: "newer-leader"))
        #expect(await agent.applied?.epoch == "newer-leader")
        #expect(await agent.term == 3)
        // A lone server sends no term: taken as before.
        await agent.apply(directive(term: nil, version: 2, epoch: "newer-leader"))
        #expect(await agent.applied?.version == 2)
        #expect(await agent.term == 3)
    }
}
