import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `allot` runs the one-off client commands itself and hands every other command to `allot-full` beside it.
struct QuickCLITests {
    func run(_ executable: String, _ arguments: [String]) async throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": FileManager.default.temporaryDirectory.path]
        let (data, status) = try await runToEnd(process, mergingErrors: true)
        return (String(decoding: data, as: UTF8.self), status)
    }

    @Test func clientCommandsRunInTheSmallBinaryAndTheRestInTheFullOne() async throws {
        let allot = try allotExecutable()
        // A client command: its own help, from the small binary.
        let submit = try await run(allot, ["submit", "--help"])
        #expect(submit.status == 0 && submit.output.contains("USAGE: allot submit"))
        // Every other command, and the overview, come from allot-full (the same arguments).
        let simulate = try await run(allot, ["simulate", "--help"])
        #expect(simulate.status == 0 && simulate.output.contains("USAGE: allot simulate"), "\(simulate.output)")
        let overview = try await run(allot, ["--help"])
        #expect(overview.output.contains("server") && overview.output.contains("submit"))
    }

    @Test func withoutTheFullBinaryBesideItAllotSaysWhatIsMissing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-alone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }  // a scratch directory
        let alone = directory.appendingPathComponent("allot").path
        // A hard link, or a copy made by cp: a copy written by this process could leave its descriptor, open for
        // writing, in a child another test forks meanwhile, and executing it would then fail (text file busy).
        if link(try allotExecutable(), alone) != 0 {
            let copy = Process()
            copy.executableURL = URL(fileURLWithPath: "/bin/cp")
            copy.arguments = [try allotExecutable(), alone]
            #expect(try await runToEnd(copy).status == 0)
        }
        let server = try await run(alone, ["server", "--help"])
        #expect(server.status == 127)
        #expect(server.output.contains("cannot run \(directory.path)/allot-full"), "\(server.output)")
        // Its own commands still work alone.
        #expect(try await run(alone, ["jobs", "--help"]).status == 0)
    }
}
