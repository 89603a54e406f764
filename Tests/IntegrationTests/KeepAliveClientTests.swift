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

    /// A server that takes a report and never answers (its store stalled): the agent's client still hears its
    /// host, through TCP's acknowledgements of keep-alive probes, long after the report went out; so the agent
    /// tells a slow server from a cut link and does not stop its jobs.
    @Test func aReportAwaitingASlowServerStillHearsItsHost() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        #expect(bound && listen(listener, 4) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        // Accepts, reads the request, never answers.
        let accepted = Mutex<Int32>(-1)
        Thread.detachNewThread {
            let connection = accept(listener, nil, nil)
            accepted.withLock { $0 = connection }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while connection >= 0, read(connection, &buffer, buffer.count) > 0 {}
        }
        defer { accepted.withLock { if $0 >= 0 { close($0) } } }

        let client = AllotClient(server: URL(string: "http://127.0.0.1:\(port)")!, token: "t", keepAlive: true)
        let sentAt = Date()
        let report = Task { try await client.report(AgentReport(node: "n1"), timeout: 20) }
        defer { report.cancel() }
        #expect(await client.reportDelivered() == nil || Date().timeIntervalSince(sentAt) < 1)
        try await Task.sleep(for: .seconds(4))
        let heard = try #require(await client.reportDelivered(), "no report out, or its bytes not acknowledged")
        #expect(Date().timeIntervalSince(heard) < 2.5, "last heard \(Date().timeIntervalSince(heard)) s ago")
        #expect(heard.timeIntervalSince(sentAt) > 1.5, "heard only when the report went out: keep-alive probes not answered")
        #expect(client.lastReportContact == nil, "no answer came")
    }
}
