import AllotAPI
import AllotClient
import AllotTLS
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `allot server` (HTTPS by default) end to end: the agent and the CLI pin the authority the server made, a job runs and its
/// output comes back over HTTPS; a CLI that does not pin it, or asks for plain HTTP, gets nothing from the server.
@Suite(.serialized) struct HTTPSClusterTests {
    func cli(_ arguments: [String]) async throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try allotExecutable())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ALLOT_") }
        let (output, status) = try await runToEnd(process, mergingErrors: true)
        return (String(decoding: output, as: UTF8.self), status)
    }

    @Test func theAgentAndTheCLIPinTheServersAuthority() async throws {
        let cluster = try await LiveCluster(tls: true)
        defer { cluster.stop() }
        #expect(cluster.url.hasPrefix("https://127.0.0.1:"))
        let authority = try #require(cluster.authority)
        #expect(FileManager.default.fileExists(atPath: authority))
        try cluster.startAgent("n1", resources: "cpu=2,memory=2GiB")
        // The agent joins over HTTPS, pinned to the same authority.
        _ = try await cluster.eventually("n1 joined") { try await cluster.client.nodes().contains { $0.name == "n1" } ? true : nil }

        let submitted = try await cli(
            ["submit", "--server", cluster.url, "--token", cluster.adminToken, "--ca", authority, "--", "sh", "-c", "echo over-tls"]
        )
        #expect(submitted.status == 0, "\(submitted.output)")
        let id = try #require(submitted.output.split(separator: "\n").first { $0.hasPrefix("submitted ") }?.dropFirst("submitted ".count))
        let job = try await cluster.finished(JobID(String(id)))
        #expect(job.state == .succeeded)
        let logs = try await cli(["logs", String(id), "--server", cluster.url, "--token", cluster.adminToken, "--ca", authority])
        #expect(logs.status == 0 && logs.output.contains("over-tls"), "\(logs.output)")

        // The join line the server printed, as printed: an agent pinning only the authority's fingerprint joins.
        let server = try #require(cluster.server.withLock { $0 })
        let join = try await server.line(startingWith: "join: allot agent ").split(separator: " ").map(String.init)
        let fingerprint = try #require(join.firstIndex(of: "--ca-fingerprint").map { join[$0 + 1] })
        #expect(join.contains(cluster.agentToken) && join.contains(cluster.url), "\(join)")
        let pinnedAgent = try LiveProcess(
            ["agent"] + join + ["--name", "n2", "--resources", "cpu=1,memory=1GiB", "--data-dir", "agent-n2"],
            directory: cluster.directory
        )
        defer { pinnedAgent.terminate() }
        _ = try await cluster.eventually("n2 joined by fingerprint") { try await cluster.client.nodes().contains { $0.name == "n2" } ? true : nil }
        let byFingerprint = try await cli(["jobs", "--server", cluster.url, "--token", cluster.adminToken, "--ca-fingerprint", fingerprint])
        #expect(byFingerprint.status == 0, "\(byFingerprint.output)")

        // SIGHUP rereads the certificate and the server goes on serving (the signal does not end it).
        kill(server.process.processIdentifier, SIGHUP)
        _ = try await server.line(startingWith: "TLS reloaded: ")
        #expect(server.process.isRunning)
        let afterReload = try await cli(["jobs", "--server", cluster.url, "--token", cluster.adminToken, "--ca", authority])
        #expect(afterReload.status == 0, "\(afterReload.output)")

        // Without the authority the system's do not vouch for the server: refused in the handshake, plainly.
        let unpinned = try await cli(["jobs", "--server", cluster.url, "--token", cluster.adminToken])
        #expect(unpinned.status != 0)
        #expect(unpinned.output.contains("does not verify against the system's authorities"), "\(unpinned.output)")
        // Another cluster's authority: refused the same way.
        let foreign = try await LiveCluster(tls: true)
        defer { foreign.stop() }
        let wrong = try await cli(["jobs", "--server", cluster.url, "--token", cluster.adminToken, "--ca", try #require(foreign.authority)])
        #expect(wrong.status != 0)
        #expect(wrong.output.contains("does not verify against the authority in"), "\(wrong.output)")
        let foreignServer = try #require(foreign.server.withLock { $0 })
        let foreignJoin = try await foreignServer.line(startingWith: "join: allot agent ")
        let foreignFingerprint = try #require(foreignJoin.split(separator: " ").last.map(String.init))
        let wrongPin = try await cli(["jobs", "--server", cluster.url, "--token", cluster.adminToken, "--ca-fingerprint", foreignFingerprint])
        #expect(wrongPin.status != 0)
        #expect(wrongPin.output.contains("did not present the authority with SHA-256 fingerprint \(foreignFingerprint)"), "\(wrongPin.output)")
        #expect(wrongPin.output.contains("nothing was sent"), "\(wrongPin.output)")
        // https:// to a plain server: the handshake fails, and the request (with its token) is never written.
        let plainServer = try await LiveCluster()
        defer { plainServer.stop() }
        let downgraded = try await cli(
            ["jobs", "--server", plainServer.url.replacingOccurrences(of: "http://", with: "https://"), "--token", plainServer.adminToken]
        )
        #expect(downgraded.status != 0)
        #expect(downgraded.output.contains("TLS handshake failed") && downgraded.output.contains("nothing was sent"), "\(downgraded.output)")
        // Plain HTTP to the HTTPS port: no answer.
        let plain = try await cli([
            "jobs", "--server", cluster.url.replacingOccurrences(of: "https://", with: "http://"), "--token", cluster.adminToken,
        ])
        #expect(plain.status != 0, "\(plain.output)")
    }

    /// Mutual TLS for agents: each exchanges the join token once for a certificate of its own; a replayed join
    /// token cannot speak for that node; the join token can be rotated without stopping certified agents; a
    /// revoked certificate stops its node.
    @Test func aNodeHoldsItsOwnCertificateAndTheJoinTokenCannotSpeakForIt() async throws {
        let cluster = try await LiveCluster(tls: true)
        defer { cluster.stop() }
        let authority = try #require(cluster.authority)
        try cluster.startAgent("n1", resources: "cpu=1,memory=1GiB")
        try cluster.startAgent("n2", resources: "cpu=1,memory=1GiB")
        _ = try await cluster.eventually("both joined") {
            try await cluster.client.nodes().filter { $0.state == .ready }.count == 2 ? true : nil
        }
        let certificate = cluster.directory + "/agent-n1/node-n1.pem"
        #expect(FileManager.default.fileExists(atPath: certificate))
        let key = try FileManager.default.attributesOfItem(atPath: cluster.directory + "/agent-n1/node-n1-key.pem")
        #expect(key[.posixPermissions] as? Int == 0o600)

        // The join token replayed, without the node's certificate: refused, for reports and long polls alike.
        let replay = AllotClient(server: URL(string: cluster.url)!, token: cluster.agentToken, trust: .authority(authority))
        do {
            _ = try await replay.report(AgentReport(node: "n1"))
            Issue.record("a replayed join token reported as n1")
        } catch {
            #expect(error.status == 403 && error.message.contains("holds a certificate of its own"), "\(error)")
        }
        do {
            _ = try await replay.directive(node: "n1", after: -1, wait: 0)
            Issue.record("a replayed join token read n1's directive")
        } catch {
            #expect(error.status == 403, "\(error)")
        }
        // Nor can it have a second certificate issued for n1.
        let second = try NodeCertificates.request(node: "n1").requestPEM
        do {
            _ = try await replay.nodeCertificate(NodeCertificateRequest(node: "n1", request: second))
            Issue.record("a second certificate was issued for n1")
        } catch {
            #expect(error.status == 409, "\(error)")
        }

        // The join token rotated: the old one is refused, the certified agents go on past the node timeout.
        let rotated = try await cli(["token", "rotate-join", "--server", cluster.url, "--token", cluster.adminToken, "--ca", authority])
        #expect(rotated.status == 0 && rotated.output.hasPrefix("agent join token: allot_"), "\(rotated.output)")
        do {
            _ = try await replay.report(AgentReport(node: "n9"))
            Issue.record("the old join token still works")
        } catch {
            #expect(error.status == 401, "\(error)")
        }
        try await Task.sleep(for: .seconds(3))
        #expect(try await cluster.client.nodes().filter { $0.state == .ready }.count == 2)

        // n2's certificate revoked: its reports are refused and the node goes down.
        let revoked = try await cli(["node", "n2", "revoke", "--server", cluster.url, "--token", cluster.adminToken, "--ca", authority])
        #expect(revoked.status == 0 && revoked.output.contains("revoked the certificate of node n2"), "\(revoked.output)")
        _ = try await cluster.eventually("n2 down once revoked", within: 20) {
            try await cluster.client.node("n2").state == .down ? true : nil
        }
        #expect(try await cluster.client.node("n1").state == .ready)
    }
}
