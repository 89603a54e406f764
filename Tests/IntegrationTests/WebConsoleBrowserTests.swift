import AllotAPI
import AllotClient
import Foundation
import Testing

/// The web console in a real browser: headless Chromium (Debian's `chromium`, installed by `.ci/run`) driven over
/// the DevTools protocol by `Tests/Browser/console_check.py`, against a real server and agents with real data.
@Suite(.serialized) struct WebConsoleBrowserTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func anAdminAndAnotherTenantsMemberUseEveryPage() async throws {
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "headless Chromium is needed (Debian package chromium; .ci/run installs it)"
        )
        // Two-second scans: a heavily loaded machine (the whole suite runs at once) must not see the agents as down.
        let cluster = try await LiveCluster(scanInterval: 2)
        defer { cluster.stop() }
        try cluster.startAgent("gpu-a", resources: "cpu=4,memory=8GiB,gpus=2xA100:80GiB", pricing: "cloud=aws,region=us-east-1,type=p4d.24xlarge")
        try cluster.startAgent("cpu-b", resources: "cpu=2,memory=4GiB", pricing: "cloud=on-prem,price=0.4")
        let client = cluster.client
        let deadline = Date().addingTimeInterval(60)
        while try await client.nodes().filter({ $0.state == .ready }).count < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(200)) }
        for name in ["acme", "globex"] { _ = try await client.createTenant(TenantRequest(name: name)) }
        let member = try #require(try await client.createToken(TokenRequest(name: "globex-member", role: .member, tenant: "globex")).secret)
        let hidden = try await client.submit(["command": ["sh", "-c", "echo acme-private"], "tenant": "acme", "requests": ["cpu": 0.1]])
        _ = try await client.submit(["command": ["sh", "-c", "echo globex-work"], "tenant": "globex", "requests": ["cpu": 0.1]])
        _ = try await client.saveBudget(BudgetRequest(name: "acme-monthly", tenant: "acme", amount: 500))

        let screenshots = Self.repository.appendingPathComponent(".build/console-screenshots").path
        try? FileManager.default.removeItem(atPath: screenshots)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.repository.appendingPathComponent("Tests/Browser/console_check.py").path, "--server", cluster.url, "--admin",
            cluster.adminToken, "--member", member, "--hidden-job", hidden.id.rawValue, "--screenshots", screenshots, "--chromium", chromium,
        ]
        let (data, status) = try await runToEnd(process, mergingErrors: true)
        let text = String(decoding: data, as: UTF8.self)
        #expect(status == 0, "\(text)")
        let report = try #require(
            text.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        )
        print("console check: \(text.split(separator: "\n").last ?? "")")
        #expect(report["pages"] as? Int == 14)
        #expect((report["screenshots"] as? Int ?? 0) >= 16)
        let shots = try FileManager.default.contentsOfDirectory(atPath: screenshots)
        for page in ["overview", "nodes", "jobs", "tenants", "costs", "recommendations", "offers"] {
            #expect(shots.contains("admin-\(page).png") && shots.contains("member-\(page).png"), "\(page)")
        }
    }
}
