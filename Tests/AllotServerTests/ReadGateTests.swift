import Synchronization
import Testing

@testable import AllotServer

/// At most `limit` reads run, the next ones wait in order, and past the queue's length they are refused.
@Suite struct ReadGateTests {
    final class Log: Sendable {
        let started = Mutex<[Int]>([])
        let released = Mutex(false)
    }

    @Test func readsBeyondTheLimitWaitInOrderAndAFullQueueRefuses() async throws {
        let gate = ReadGate(limit: 2, queueLimit: 3)
        let log = Log()
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<5 {
                group.addTask {
                    let ran = try await gate.run {
                        log.started.withLock { $0.append(index) }
                        while index < 2 && !log.released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
                        return true
                    }
                    return (index, ran != nil)
                }
                // Arrivals in order: the next is sent once this one runs (the first two) or waits (the rest).
                for _ in 0..<5_000 where log.started.withLock({ $0.count }) < min(index + 1, 2) || gate.waiting < max(0, index - 1) {
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            #expect(log.started.withLock { $0 } == [0, 1], "two run, three wait")
            #expect(try await gate.run { 0 } == nil, "the queue is full")
            log.released.withLock { $0 = true }
            var results: [Int: Bool] = [:]
            for try await (index, ran) in group { results[index] = ran }
            return results
        }
        #expect(results.values.allSatisfy { $0 } && results.count == 5)
        #expect(log.started.withLock { $0 } == [0, 1, 2, 3, 4])
        #expect(try await gate.run { 7 } == 7)
    }
}
