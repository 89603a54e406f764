import AllotAPI
import AllotCore
import AllotStore
import AllotTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AllotServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real Prometheus (the Debian package, on loopback) scrapes `/metrics` with an admin token, and PromQL over
/// its HTTP API sees the cluster: three ready nodes, two queued jobs.
@Suite struct PrometheusScrapeTests {
    static let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test func prometheusScrapesTheExpositionAndPromQLSeesNodesAndQueue() async throws {
        let binary = try #require(Self.binary, "Prometheus is not installed (apt-get install prometheus; .ci/run does)")
        let store = MemoryStore()
        let configuration = ServerConfiguration(scheduler: SchedulerConfiguration(headroom: 0, scanIntervalSeconds: 60))
        let plane = try await ControlPlane.start(store: store, configuration: configuration)
        for node in 1...3 { _ = try await plane.report(AgentReport(node: "n\(node)", inventory: inventory("n\(node)", cpu: 4))) }
        for _ in 0..<5 { _ = try await plane.submit(submission(cpu: 4)) }
        try await Task.sleep(for: .milliseconds(100))
        let admin = Authenticator.newToken()
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: admin, agentToken: Authenticator.newToken()))
        try await directory.load()
        let app = try buildApplication(plane: plane, directory: directory, port: 0)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let exposition = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(admin)"])
            let text = String(buffer: exposition.body)
            #expect(exposition.status == .ok)
            #expect(text.contains(#"allot_nodes{state="ready"} 3"#))
            #expect(text.contains("allot_queue_depth 2"))
            #expect(text.contains("allot_scheduling_cycle_duration_seconds_bucket"))
            #expect(text.contains("allot_store_commit_duration_seconds_count"))

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-prometheus-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: allot
                    metrics_path: /metrics
                    authorization:
                      credentials: \(admin)
                    static_configs:
                      - targets: ['127.0.0.1:\(port)']
                """
            try config.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
            let webPort = try freePort()
            let prometheus = Process()
            prometheus.executableURL = URL(fileURLWithPath: binary)
            prometheus.arguments = [
                "--config.file=\(directory.path)/prometheus.yml",
                "--storage.tsdb.path=\(directory.path)/data",
                "--web.listen-address=127.0.0.1:\(webPort)",
            ]
            prometheus.standardOutput = FileHandle.nullDevice
            prometheus.standardError = FileHandle.nullDevice
            try prometheus.run()
            defer {
                prometheus.terminate()
                prometheus.waitUntilExit()
            }
            let nodes = try await poll(webPort, #"sum(allot_nodes{state="ready"})"#, until: "3")
            #expect(nodes == "3")
            let queue = try await poll(webPort, "allot_queue_depth", until: "2")
            #expect(queue == "2")
            // The scrape itself is counted, under its route.
            let scrapes = try await poll(webPort, #"sum(allot_http_requests_total{route="/metrics",status="200"}) > 0"#, until: nil)
            #expect(scrapes != nil)
        }
    }

    /// The first value of an instant query, polled (up to 30 s) until it equals `until` (or exists, if `nil`).
    func poll(_ port: Int, _ query: String, until expected: String?) async throws -> String? {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: query)]
        var last: String?
        for _ in 0..<60 {
            if let (data, _) = try? await URLSession.shared.data(from: components.url!),
                let body = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let result = (body["data"] as? [String: Any])?["result"] as? [[String: Any]],
                let value = (result.first?["value"] as? [Any])?.last as? String
            {
                last = value
                if expected == nil || value == expected { return value }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return last
    }
}
