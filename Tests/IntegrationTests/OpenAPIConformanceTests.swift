import Foundation
import Testing

/// Schemathesis (PyPI, installed by `.ci/run`) against a live `allot server`: thousands of generated
/// requests, valid and not, every check on, none may fail: no server error, no undocumented status, no
/// response off its schema, no valid request refused as malformed, no invalid one accepted, `405` for a
/// method a path does not have, `401` without a token. Before, it found 75 failures in 39 operations.
@Suite(.serialized) struct OpenAPIConformanceTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theServerAgreesWithItsDocument() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-openapi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Generated requests come fast and many without a token: neither limit is what is tested here.
        let server = try LiveProcess(
            [
                "server", "--no-tls", "--port", "0", "--data-dir", "server", "--scan-interval", "0.5", "--token-rate", "0", "--failed-sign-in-limit",
                "1000000",
            ],
            directory: directory
        )
        defer { server.terminate() }
        let url = try await server.line(startingWith: "allot server listening on ")
        let admin = String(try await server.line(startingWith: "admin token: ").prefix { !$0.isWhitespace })
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = [
            "python3", "-m", "schemathesis.cli", "--config-file", Self.repository.appendingPathComponent("Tests/Conformance/schemathesis.toml").path,
            "run", url + "/openapi.json", "--header", "Authorization: Bearer \(admin)", "--checks", "all", "--max-examples", "25",
            "--generation-deterministic", "--no-color",
            // Revoking or rotating tokens would take the fuzzer's own token away mid-run (tested in BootstrapAdminTests).
            "--exclude-path-regex", "^/v1/tokens/",
        ]
        run.currentDirectoryURL = URL(fileURLWithPath: directory)
        let (output, status) = try await runToEnd(run, mergingErrors: true)
        let report = String(decoding: output, as: UTF8.self)
        #expect(status == 0, "schemathesis found failures:\n\(report.suffix(12_000))")
        #expect(report.contains(" passed"), "\(report.suffix(2_000))")
    }
}
