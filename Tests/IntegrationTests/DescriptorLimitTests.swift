import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// More clients than descriptors: the server, started with a limit of 256 open files, takes what its cap
/// allows, leaves the rest waiting in the listen backlog, and answers again once they leave. Before, 1,100
/// connections at a limit of 1,024 (or 256) killed the process within seconds.
@Suite(.serialized) struct DescriptorLimitTests {
    @Test func moreClientsThanDescriptorsDoNotKillTheServer() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-fd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // `ulimit -n` in the shell sets both the soft and the hard limit, so the server cannot raise it.
        let server = try LiveProcess.shell(
            "ulimit -n 256 && exec \"$0\" server --no-tls --port 0 --data-dir server --scan-interval 0.5",
            executable: try allotExecutable(),
            directory: directory
        )
        defer { server.terminate() }
        let url = try await server.line(startingWith: "allot server listening on ")
        let port = UInt16(URL(string: url)!.port!)
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        for _ in 0..<600 {
            let socket = try Self.connect(port: port)
            sockets.append(socket)
            let request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            _ = request.withCString { send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
        try await Task.sleep(for: .seconds(3))
        #expect(server.process.isRunning, "the server died with 600 clients at a limit of 256 descriptors:\n\(server.output)")
        for socket in sockets { close(socket) }
        sockets = []
        // Once the clients are gone it answers at once.
        var answered = false
        for _ in 0..<100 where !answered {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: url + "/health")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                answered = true
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(answered, "no answer after the clients left:\n\(server.output)")
        #expect(server.process.isRunning)
    }

    /// Idle clients do not keep their connections: with `--idle-timeout 1` a connection that sends nothing is
    /// closed by the server within about a second, so a flood of idle clients cannot hold the cap for ever.
    @Test func idleConnectionsAreClosed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-idle-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try LiveProcess(["server", "--no-tls", "--port", "0", "--data-dir", "server", "--idle-timeout", "1"], directory: directory)
        defer { server.terminate() }
        let url = try await server.line(startingWith: "allot server listening on ")
        let socket = try Self.connect(port: UInt16(URL(string: url)!.port!))
        defer { close(socket) }
        var closed = false
        let start = ContinuousClock.now
        var byte: UInt8 = 0
        while !closed, ContinuousClock.now - start < .seconds(10) {
            let count = recv(socket, &byte, 1, Int32(MSG_DONTWAIT))
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                closed = true
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(closed, "an idle connection was still open after 10 s")
        #expect(ContinuousClock.now - start >= .milliseconds(900))
    }

    /// A non-blocking TCP connection to loopback (past the server's backlog it stays half-open).
    static func connect(port: UInt16) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw LiveError("socket: errno \(errno)") }
        _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else { throw LiveError("connect: errno \(errno)") }
        return socket
    }
}
