import Foundation
import Synchronization

/// The servers a client may talk to (several replicas on one store) and the one it talks to now: the leader
/// once a follower has named it, the next one in the list when the current one cannot be reached.
final class ServerList: Sendable {
    let servers: [URL]
    /// Keep-alive connections per server (`host:port`), for steady callers: one for their calls, one for their
    /// long polls (which would hold the first for up to half a minute). Over TLS this saves a handshake a poll.
    let connections: [String: KeepAliveConnection]
    let pollConnections: [String: KeepAliveConnection]
    private let current: Mutex<URL>
    private let contact = Mutex<Date?>(nil)

    init(_ servers: [URL], keepAlive: Bool, trust: ClientTrust = .system, wire: WireCount? = nil) {
        precondition(!servers.isEmpty, "a client needs a server")
        self.servers = servers
        current = Mutex(servers[0])
        var connections: [String: KeepAliveConnection] = [:]
        var pollConnections: [String: KeepAliveConnection] = [:]
        if keepAlive {
            for server in servers {
                guard let host = server.host else { continue }
                let connection = { (wire: WireCount?) in
                    KeepAliveConnection(host: host, port: Self.port(server), trust: server.scheme == "https" ? trust : nil, wire: wire)
                }
                connections[Self.key(server)] = connection(wire)
                pollConnections[Self.key(server)] = connection(nil)
            }
        }
        self.connections = connections
        self.pollConnections = pollConnections
    }

    var now: URL { current.withLock { $0 } }

    /// See ``AllotClient/lastReportContact``.
    var reportContact: Date? { contact.withLock { $0 } }

    /// A report sent at `time` was heard (the latest such time is kept).
    func heard(at time: Date) { contact.withLock { $0 = max($0 ?? time, time) } }

    /// Talks to `leader` from now on (a follower's redirect).
    func follow(_ leader: URL) { current.withLock { $0 = leader } }

    /// Moves on from `failed` to the next server in the list (unless another call already has).
    func skip(_ failed: URL) {
        current.withLock { current in
            guard current == failed else { return }
            let index = servers.firstIndex(of: failed) ?? -1
            current = servers[(index + 1) % servers.count]
        }
    }

    func connection(for server: URL, longPoll: Bool = false) -> KeepAliveConnection? {
        (longPoll ? pollConnections : connections)[Self.key(server)]
    }

    static func key(_ server: URL) -> String { "\(server.scheme ?? "")://\(server.host ?? ""):\(port(server))" }

    /// The URL's port, or its scheme's.
    static func port(_ server: URL) -> Int { server.port ?? (server.scheme == "https" ? 443 : 80) }

    /// Parses `URL[,URL…]`; `nil` with the first bad entry when one is not an http(s) URL with a host.
    static func parse(_ text: String) -> Result<[URL], ParseFailure> {
        var urls: [URL] = []
        for entry in text.split(separator: ",") {
            let part = entry.trimming { $0 == " " || $0 == "\t" }
            if part.isEmpty { continue }
            guard let url = URL(string: part), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                return .failure(ParseFailure(entry: part))
            }
            urls.append(url)
        }
        return urls.isEmpty ? .failure(ParseFailure(entry: text)) : .success(urls)
    }

    struct ParseFailure: Error {
        var entry: String
    }
}
