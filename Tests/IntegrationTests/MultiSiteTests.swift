import AllotAPI
import AllotClient
import AllotCore
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Three sites on one machine, each its own network namespace: the server in one, a "rack" agent beside it, an
/// "edge" agent in a third reached through a relay that adds 200 ms each way and drops 1 % of connections. All
/// over TLS, the agents pinning the server's authority by the fingerprint it printed. The edge is cut off (its
/// link taken down) for longer than the node timeout, then healed.
@Suite(.serialized, .enabled(if: Sites.available, Sites.unavailableReason)) struct MultiSiteTests {
    @Test func jobsRunAtBothSitesAndAPartitionNeitherRunsAJobTwiceNorLosesAnExitOrALine() async throws {
        let sites = try Sites()
        defer { sites.remove() }
        let directory = sites.directory
        let ip = try Sites.ipCommand()
        let allot = try allotExecutable()
        func inSite(_ site: String, _ arguments: [String], environment: [String: String] = [:]) throws -> LiveProcess {
            try LiveProcess(executable: ip, arguments: ["netns", "exec", site, allot] + arguments, directory: directory, environment: environment)
        }

        // The server: HTTPS by default, with the addresses each site dials in its certificate.
        let server = try inSite(
            sites.server,
            [
                "server", "--host", "0.0.0.0", "--port", "0", "--data-dir", directory + "/server", "--scan-interval", "1",
                "--grace-period", "1", "--headroom", "0", "--tls-san", sites.hostSide.server, "--tls-san", sites.rackSide.server,
                "--tls-san", sites.edgeSide.server,
            ]
        )
        defer { server.terminate() }
        let listening = try await server.line(startingWith: "allot server listening on https://0.0.0.0:")
        let port = try #require(Int(listening))
        let admin = String(try await server.line(startingWith: "admin token: ").prefix { !$0.isWhitespace })
        let join = try await server.line(startingWith: "join: allot agent ").split(separator: " ").map(String.init)
        let token = try #require(join.firstIndex(of: "--token").map { join[$0 + 1] })
        let fingerprint = try #require(join.firstIndex(of: "--ca-fingerprint").map { join[$0 + 1] })
        let client = AllotClient(
            server: URL(string: "https://\(sites.hostSide.server):\(port)")!,
            token: admin,
            trust: .authority(directory + "/server/tls/ca.pem")
        )

        // The relay in the server's namespace, on the edge link, in front of the server.
        let relay = try LiveProcess(
            executable: ip,
            arguments: [
                "netns", "exec", sites.server, "python3", Self.repository.appendingPathComponent("Tests/MultiSite/relay.py").path,
                "--listen", "\(sites.edgeSide.server):0", "--target", "127.0.0.1:\(port)", "--delay", "0.2", "--drop", "0.01", "--seed", "7",
            ],
            directory: directory
        )
        defer { relay.terminate() }
        let relayed = try await relay.line(startingWith: "relay listening on ")

        let rack = try inSite(
            sites.rack,
            [
                "agent", "--server", "https://\(sites.rackSide.server):\(port)", "--token", token, "--ca-fingerprint", fingerprint,
                "--name", "rack", "--resources", "cpu=4,memory=4GiB", "--data-dir", directory + "/agent-rack",
            ]
        )
        defer { rack.terminate() }
        let edge = try inSite(
            sites.edge,
            [
                "agent", "--server", "https://\(relayed)", "--token", token, "--ca-fingerprint", fingerprint,
                "--name", "edge", "--resources", "cpu=2,memory=2GiB", "--data-dir", directory + "/agent-edge",
            ]
        )
        defer { edge.terminate() }
        _ = try await eventually("both sites joined", within: 60) {
            Set(try await client.nodes().filter { $0.state == .ready }.map(\.name)) == ["rack", "edge"] ? true : nil
        }

        // Two jobs at the edge (the rack cordoned meanwhile): one that waits out a partition, one that is requeued.
        _ = try await client.node("rack", action: "cordon")
        let trail = directory + "/requeued.trail"
        let waiting = try await client.submit([
            "command": ["sh", "-c", "for i in $(seq 1 50); do echo line-$i; sleep 0.2; done; exit 3"],
            "requests": ["cpu": 1, "memory": "64MiB"], "onDisconnect": "wait=60s",
        ])
        // Each attempt writes when it starts and when it ends or is stopped, to one file all sites share.
        let stamp = "$(date +%s.%N)"
        let requeued = try await client.submit([
            "command": [
                "sh", "-c",
                "trap 'echo \"$ALLOT_ATTEMPT stop \(stamp)\" >> \(trail); exit 143' TERM; echo \"$ALLOT_ATTEMPT start \(stamp)\" >> \(trail); "
                    + "i=0; while [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done; echo \"$ALLOT_ATTEMPT end \(stamp)\" >> \(trail)",
            ],
            "requests": ["cpu": 1, "memory": "64MiB"],
        ])
        for id in [waiting.id, requeued.id] {
            let job = try await eventually("\(id) running at the edge", within: 30) {
                let job = try await client.job(id).job
                return job.state == .running ? job : nil
            }
            #expect(job.placements?.map(\.node.rawValue) == ["edge"])
        }
        _ = try await client.node("rack", action: "uncordon")
        let local = try await client.submit(["command": ["sh", "-c", "echo rack-ok"], "requests": ["cpu": 1, "memory": "64MiB"]])
        let localDone = try await eventually("the rack's job finished", within: 30) {
            let job = try await client.job(local.id).job
            return job.state.isTerminal ? job : nil
        }
        // The edge's two CPUs are taken: it ran at the rack.
        #expect(localDone.state == .succeeded)
        #expect(try await client.logs(local.id).map(\.text).joined() == "rack-ok\n")

        // Cut the edge off: longer than the node timeout (three scan intervals, 3 s).
        let cut = Date()
        try sites.link(sites.edge, sites.edgeSide.device, up: false)
        _ = try await eventually("the edge marked down", within: 20) { try await client.node("edge").state == .down ? true : nil }
        let elsewhere = try await eventually("the requeued job running on the rack", within: 30) {
            let job = try await client.job(requeued.id).job
            return job.state == .running && job.attempt == 2 ? job : nil
        }
        #expect(elsewhere.placements?.map(\.node.rawValue) == ["rack"])
        // The waiting job is left alone: still its first attempt, still placed at the edge.
        let held = try await client.job(waiting.id).job
        #expect(held.state == .running && held.attempt == 1 && held.placements?.map(\.node.rawValue) == ["edge"], "\(held)")
        // Healed once the waiting job has ended on its own (about 10 s after it started), its exit unheard.
        let remaining = 12 - Date().timeIntervalSince(cut)
        if remaining > 0 { try await Task.sleep(for: .seconds(remaining)) }
        let unheard = try await client.job(waiting.id).job
        #expect(unheard.state == .running && unheard.attempt == 1, "\(unheard)")
        try sites.link(sites.edge, sites.edgeSide.device, up: true)
        let partition = Date().timeIntervalSince(cut)

        // The edge comes back, and reports what happened while it was away.
        _ = try await eventually("the edge ready again", within: 60) { try await client.node("edge").state == .ready ? true : nil }
        let ended = try await eventually("the waiting job's exit taken", within: 30) {
            let job = try await client.job(waiting.id).job
            return job.state.isTerminal ? job : nil
        }
        #expect(ended.state == .failed && ended.exitCode == 3 && ended.attempt == 1, "\(ended)")
        let text = try await client.logs(waiting.id).map(\.text).joined()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines == (1...50).map { "line-\($0)" }, "every line once, in order: \(lines)")

        let finished = try await eventually("the requeued job finished", within: 30) {
            let job = try await client.job(requeued.id).job
            return job.state.isTerminal ? job : nil
        }
        #expect(finished.state == .succeeded && finished.attempt == 2, "\(finished)")
        // Never twice at once: the first attempt was stopped at the edge before the second started on the rack.
        let events = try String(contentsOfFile: trail, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        func time(_ attempt: String, _ event: String) -> Double? {
            events.first { $0.count == 3 && $0[0] == attempt && $0[1] == event }.flatMap { Double($0[2]) }
        }
        let firstStopped = try #require(time("1", "stop"), "attempt 1 was not stopped at the edge: \(events)")
        let secondStarted = try #require(time("2", "start"), "\(events)")
        #expect(firstStopped < secondStarted, "attempt 1 stopped at \(firstStopped), attempt 2 started at \(secondStarted)")
        #expect(time("1", "end") == nil && time("2", "end") != nil, "\(events)")
        print(
            "multi-site: partition \(String(format: "%.1f", partition)) s; attempt 1 stopped \(String(format: "%.2f", secondStarted - firstStopped)) s before attempt 2 started; relay: \(relay.output.split(separator: "\n").count - 1) connections dropped"
        )
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Three network namespaces joined by veth pairs: the host to the server's (for the test's own calls), the
/// server's to the rack's, the server's to the edge's. Names carry a random suffix, addresses a random /16,
/// so that runs side by side do not meet.
struct Sites {
    struct Link {
        var device: String
        var server: String
        var site: String
    }

    let suffix: String
    let directory: String
    let server: String
    let rack: String
    let edge: String
    let hostSide: Link
    let rackSide: Link
    let edgeSide: Link

    init() throws {
        suffix = String(UInt32.random(in: 0..<0xFFFF), radix: 16)
        let net = "10.\(Int.random(in: 64...250))"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-sites-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        server = "allot-srv-\(suffix)"
        rack = "allot-rack-\(suffix)"
        edge = "allot-edge-\(suffix)"
        hostSide = Link(device: "ah\(suffix)", server: "\(net).0.2", site: "\(net).0.1")
        rackSide = Link(device: "ar\(suffix)", server: "\(net).1.1", site: "\(net).1.2")
        edgeSide = Link(device: "ae\(suffix)", server: "\(net).2.1", site: "\(net).2.2")
        do {
            for namespace in [server, rack, edge] {
                try Self.ip(["netns", "add", namespace])
                try Self.ip(["-n", namespace, "link", "set", "lo", "up"])
            }
            // The host's end stays in the host's namespace; the server's end of each pair is "s…".
            try Self.ip(["link", "add", hostSide.device, "type", "veth", "peer", "name", "s" + hostSide.device, "netns", server])
            try Self.ip(["addr", "add", "\(hostSide.site)/24", "dev", hostSide.device])
            try Self.ip(["link", "set", hostSide.device, "up"])
            try Self.ip(["-n", server, "addr", "add", "\(hostSide.server)/24", "dev", "s" + hostSide.device])
            try Self.ip(["-n", server, "link", "set", "s" + hostSide.device, "up"])
            for (site, link) in [(rack, rackSide), (edge, edgeSide)] {
                try Self.ip(["-n", site, "link", "add", link.device, "type", "veth", "peer", "name", "s" + link.device, "netns", server])
                try Self.ip(["-n", site, "addr", "add", "\(link.site)/24", "dev", link.device])
                try Self.ip(["-n", site, "link", "set", link.device, "up"])
                try Self.ip(["-n", server, "addr", "add", "\(link.server)/24", "dev", "s" + link.device])
                try Self.ip(["-n", server, "link", "set", "s" + link.device, "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    /// Takes a site's end of its link down (the site is cut off) or up again.
    func link(_ site: String, _ device: String, up: Bool) throws {
        try Self.ip(["-n", site, "link", "set", device, up ? "up" : "down"])
    }

    /// Removes the namespaces (and with them their links) and the host's end of its link.
    func remove() {
        for namespace in [server, rack, edge] { _ = try? Self.ip(["netns", "del", namespace]) }  // absent when setup failed early
        _ = try? Self.ip(["link", "del", hostSide.device])  // gone with its peer's namespace, usually
        try? FileManager.default.removeItem(atPath: directory)  // a temporary directory
    }

    static func ipCommand() throws -> String {
        guard let found = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw LiveError("the ip command (iproute2) is not installed")
        }
        return found
    }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ipCommand())
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw LiveError("ip \(arguments.joined(separator: " ")): \(output)") }
        return output
    }

    /// Whether this process may make network namespaces (root, with iproute2): tried once, on a throwaway one.
    static let available: Bool = {
        guard getuid() == 0, (try? ipCommand()) != nil else { return false }
        let probe = "allot-probe-\(getpid())"
        guard (try? ip(["netns", "add", probe])) != nil else { return false }
        _ = try? ip(["netns", "del", probe])  // just made
        return true
    }()

    static let unavailableReason: Comment =
        "needs root and iproute2 to make network namespaces (ip netns add); skipped where they cannot be made"
}
