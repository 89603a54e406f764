import Testing

@testable import AllotAgent

#if canImport(Glibc)
import Glibc
#endif

/// Whether a job's exit was its own or a stop's: what the server needs to take an exit it had given up on.
struct ChildProcessTests {
    let environment = ["PATH": "/usr/bin:/bin"]

    @Test func aStopThatComesAfterTheProcessEndedInterruptsNothing() async throws {
        let process = try ChildProcess(command: ["true"], environment: environment) { _, _ in }
        #expect(await process.wait() == 0)
        #expect(process.hasExited)
        #expect(await process.stop(grace: 0.1) == 0)
        #expect(!process.interrupted)
    }

    @Test func aStopThatReachesARunningProcessInterruptsIt() async throws {
        let process = try ChildProcess(command: ["sleep", "30"], environment: environment) { _, _ in }
        #expect(!process.hasExited && !process.interrupted)
        #expect(await process.stop(grace: 5) == 128 + SIGTERM)
        #expect(process.interrupted)
    }
}
