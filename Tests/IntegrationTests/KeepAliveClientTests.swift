import AllotAPI
import AllotClient
import AllotCore
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The keep-alive client an agent reports through, against a real server: calls that overlap on its one
/// connection each get their own answer, and a server killed under it fails the calls in flight (or the next
/// one) instead of leaving them waiting, then a fresh connection reaches the restarted server.
@Suite(.timeLimit(.minutes(2)))
struct KeepAliveClientTests {
    @Test func overlappingCallsGetTheirOwnAnswersAndAKilledServerLeavesNoCallWaiting() async throws {
        let cluster = try await LiveCluster()
        defer { cluster.stop() }
        try cluster.startAgent("n1", resources: "cpu=1,memory=1GiB")
        _ = try await cluster.eventually("the node is ready") { try await cluster.client.node("n1").state == .ready ? true : nil }
        var submitted: [JobID] = []
        for _ in 0..<16 {
            submitted.append(try await cluster.client.submit(["command": ["sleep", "60"], "requests": ["cpu": 1]]).id)
        }
        let ids = submitted
        let client = AllotClient(server: URL(string: cluster.url)!, token: cluster.adminToken, keepAlive: true)

        // Overlapping calls on the one connection: each answer is the job asked for.
        let answers = try await withThrowingTaskGroup(of: (JobID, JobID).self) { group in
            for id in ids + ids { group.addTask { (id, try await client.job(id).job.id) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 2 * ids.count)
        #expect(answers.allSatisfy { $0.0 == $0.1 })

        // The server dies with calls in flight: every call ends (an error or an answer), well before its 30 s
        // timeout, and none waits on the dead connection.
        let started = ContinuousClock.now
        let calls = Task {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for id in ids {
                    group.addTask {
                        do {
                            _ = try await client.job(id)
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: 0) { count, answered in count += answered ? 0 : 1 }
            }
        }
        cluster.server.withLock { $0?.kill9() }
        let failed = try await calls.value
        #expect(ContinuousClock.now - started < .seconds(20), "calls ended \(ContinuousClock.now - started) after the kill")
        print("keep-alive client: \(failed) of \(ids.count) calls in flight failed when the server was killed")

        // The restarted server is reached through a fresh connection.
        try await cluster.startServerAgain()
        let again = try await cluster.eventually("the keep-alive client reaches the restarted server") {
            do { return try await client.job(ids[0]).job.id } catch { return nil }
        }
        #expect(again == ids[0])
    }
}
