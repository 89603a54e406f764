import Foundation
import Testing

/// `gs://` with a service account key: the CLI signs a JWT with the key, trades it for a token once, and lists
/// with that token; a key the token endpoint does not trust is refused with the endpoint's reason.
@Suite struct ServiceAccountTests {
    func run(_ arguments: [String], environment: [String: String]) async throws -> (String, Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try allotExecutable())
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for key in ["STORAGE_EMULATOR_HOST", "GOOGLE_OAUTH_ACCESS_TOKEN"] { merged[key] = nil }
        process.environment = merged.merging(environment) { _, new in new }
        let (output, status) = try await runToEnd(process, mergingErrors: true)
        return (String(decoding: output, as: UTF8.self), status)
    }

    @Test func aServiceAccountKeyIsExchangedForATokenOnceAndAForeignKeyIsRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-sa-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = try #require(Bundle.module.path(forResource: "token_server", ofType: "py", inDirectory: "Fixtures"))
        let server = try LiveProcess(executable: "/usr/bin/env", arguments: ["python3", script, directory], directory: directory)
        defer { server.terminate(within: 5) }
        let deadline = Date().addingTimeInterval(60)
        var port: String?
        while port == nil {
            // Polled: the port file appears once the keys are written.
            port = try? String(contentsOfFile: directory + "/port", encoding: .utf8)
            guard Date() < deadline else { throw LiveError("the token server did not start: \(server.output)") }
            if port == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let endpoint = "http://127.0.0.1:\(port!)"
        let good = ["GOOGLE_APPLICATION_CREDENTIALS": directory + "/good.json", "ALLOT_GCS_ENDPOINT": endpoint, "HOME": directory]
        let (listing, status) = try await run(["data", "ls", "gs://lake", "--output", "json"], environment: good)
        #expect(status == 0, "\(listing)")
        #expect(listing.contains("abc.txt") && listing.contains("900150983cd24fb0d6963f7d28e17f72"))
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(string: endpoint + "/stats")!)) as? [String: Int]
        #expect(stats?["grants"] == 1)

        var foreign = good
        foreign["GOOGLE_APPLICATION_CREDENTIALS"] = directory + "/foreign.json"
        let (refusal, refused) = try await run(["data", "ls", "gs://lake"], environment: foreign)
        #expect(refused != 0)
        #expect(refusal.contains("the token endpoint refused the key: Invalid JWT Signature."), "\(refusal)")
        var missing = good
        missing["GOOGLE_APPLICATION_CREDENTIALS"] = directory + "/absent.json"
        let (absent, failed) = try await run(["data", "ls", "gs://lake"], environment: missing)
        #expect(failed != 0 && absent.contains("cannot read \(directory)/absent.json"), "\(absent)")
    }
}
