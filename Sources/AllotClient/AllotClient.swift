import AllotAPI
import AllotTLS
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A failed call: the server's error code and message, or a transport failure.
public struct ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The HTTP status, or `nil` when no response came.
    public var status: Int?
    public var code: ErrorCode
    public var message: String
    /// With no answer: whether the server's host turned the call away (nothing listening, or the connection
    /// refused, reset or closed): the server is down or restarting, not out of reach. `false` when nothing came
    /// back at all (a cut link, no route, a timeout).
    public var turnedAway = false

    public init(status: Int?, code: ErrorCode, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { status.map { "\($0) \(code.rawValue): \(message)" } ?? "\(code.rawValue): \(message)" }
}

/// The typed HTTP client of the Allot API, used by the CLI and the agent.
public struct AllotClient: Sendable {
    let token: String
    /// The servers, the one in use, and (for a steady caller, an agent) a keep-alive connection to each.
    let list: ServerList

    /// The server calls go to now.
    public var server: URL { list.now }

    /// When the last agent report was sent that a server took, or whose answer says nothing can be requeued
    /// meanwhile: taken (2xx); `503` (nobody leads, or the leader's store fails); turned away by the server's
    /// host (it is down; a server that starts takes every node as alive). A follower's redirect, or a refusal
    /// (a revoked certificate, a rotated join token), does not count. `nil` before the first.
    public var lastReportContact: Date? { list.reportContact }

    /// What `https://` servers' certificates must chain to.
    let trust: ClientTrust
    /// Plain-HTTP calls made over a blocking socket of their own (``OneShotHTTP``), for a process that makes a
    /// call or two and exits.
    let oneShot: Bool

    /// A client of the server at `server` (`http://host:port`, or `https://` with `trust` saying which authority
    /// its certificate must chain to). With `keepAlive`, calls share one kept-alive connection in turn, and long
    /// polls another.
    public init(server: URL, token: String, keepAlive: Bool = false, trust: ClientTrust = .system) {
        self.init(servers: [server], token: token, keepAlive: keepAlive, trust: trust)
    }

    /// A client of several servers on one store: it follows a follower's redirect to the leader, and moves on
    /// to the next server when the one in use cannot be reached (a call that cannot have changed anything is
    /// tried there at once; any other fails, and the next call goes there).
    /// `wire`, with `keepAlive`: counts the bytes of the connection calls share (not the long polls').
    /// `oneShot` (a CLI command): `http://` calls block the calling thread on a socket of their own instead
    /// of starting SwiftNIO's event loops, which cost a one-off call more than the call itself.
    public init(
        servers: [URL],
        token: String,
        keepAlive: Bool = false,
        trust: ClientTrust = .system,
        wire: WireCount? = nil,
        oneShot: Bool = false
    ) {
        self.token = token
        self.trust = trust
        self.oneShot = oneShot && !keepAlive
        list = ServerList(servers, keepAlive: keepAlive, trust: trust, wire: wire)
    }

    /// Parses `--server` as one URL or several separated by commas; `nil` names the first bad entry.
    public static func servers(_ text: String) -> Result<[URL], ServerListError> {
        ServerList.parse(text).mapError { ServerListError(entry: $0.entry) }
    }

    func encode<Value: Encodable>(_ value: Value) throws(ClientError) -> Data {
        do { return try JSONEncoder().encode(value) } catch {
            throw ClientError(status: nil, code: .badRequest, message: "cannot encode the request: \(error)")
        }
    }

    // MARK: - Jobs

    /// Submits a job given as a submission document (see ``JobSubmission``).
    public func submit(_ document: [String: Any]) async throws(ClientError) -> Job {
        let body: Data
        do { body = try JSONSerialization.data(withJSONObject: document) } catch {
            throw ClientError(status: nil, code: .badRequest, message: "cannot encode the submission: \(error)")
        }
        return try await submit(body: body)
    }

    /// Submits a job given as the JSON bytes of a submission document.
    public func submit(body: Data) async throws(ClientError) -> Job { try await call("POST", "/v1/jobs", body: body) }

    /// The same, reading only what `Answer` holds of the job (a one-off command that prints its id decodes no more).
    public func submit<Answer: Decodable>(body: Data, answer: Answer.Type) async throws(ClientError) -> Answer {
        try await call("POST", "/v1/jobs", body: body)
    }

    /// One page of jobs in submission order: the server's default page (100) unless `limit` says (at most
    /// 1,000), after the job with sequence number `after`.
    public func jobs(states: [JobState] = [], tenant: String? = nil, limit: Int? = nil, after: Int64? = nil) async throws(ClientError) -> [JobView] {
        var query: [URLQueryItem] = []
        if !states.isEmpty { query.append(URLQueryItem(name: "state", value: states.map(\.rawValue).joined(separator: ","))) }
        if let tenant { query.append(URLQueryItem(name: "tenant", value: tenant)) }
        if let limit { query.append(URLQueryItem(name: "limit", value: "\(limit)")) }
        if let after { query.append(URLQueryItem(name: "after", value: "\(after)")) }
        return try await call("GET", "/v1/jobs", query: query)
    }

    /// Every job matching, page after page of 1,000.
    public func allJobs(states: [JobState] = [], tenant: String? = nil) async throws(ClientError) -> [JobView] {
        var all: [JobView] = []
        while true {
            let page = try await jobs(states: states, tenant: tenant, limit: Self.largestPage, after: all.last?.job.sequence)
            all += page
            if page.count < Self.largestPage { return all }
        }
    }

    /// The most jobs the server returns in one page.
    public static let largestPage = 1_000

    public func job(_ id: JobID) async throws(ClientError) -> JobView { try await call("GET", "/v1/jobs/\(escape(id.rawValue))") }

    public func cancel(_ id: JobID) async throws(ClientError) -> Job { try await call("POST", "/v1/jobs/\(escape(id.rawValue))/cancel") }

    public func logs(_ id: JobID, after offset: Int64 = 0) async throws(ClientError) -> [LogChunk] {
        try await call("GET", "/v1/jobs/\(escape(id.rawValue))/logs", query: [URLQueryItem(name: "after", value: "\(offset)")])
    }

    // MARK: - Nodes

    public func nodes() async throws(ClientError) -> [NodeStatus] { try await call("GET", "/v1/nodes") }

    public func node(_ name: String) async throws(ClientError) -> NodeStatus { try await call("GET", "/v1/nodes/\(escape(name))") }

    /// The machines the autoscaler bought, why, and how they ended.
    public func autoscaler() async throws(ClientError) -> AutoscalerStatus { try await call("GET", "/v1/autoscaler") }

    /// `cordon`, `drain` or `uncordon`.
    public func node(_ name: String, action: String) async throws(ClientError) -> NodeStatus {
        try await call("POST", "/v1/nodes/\(escape(name))/\(escape(action))")
    }

    public func health() async throws(ClientError) -> [String: String] { try await call("GET", "/health") }

    // MARK: - Transport

    func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? component
    }

    func call<Response: Decodable>(
        _ method: String,
        _ path: String,
        query: [URLQueryItem] = [],
        body: Data? = nil,
        timeout: Double = 30,
        gzip: Bool = false
    ) async throws(ClientError) -> Response {
        let data = try await send(method, path, query: query, body: body, timeout: timeout, longPoll: path == "/v1/agent/directive", gzip: gzip)
        do {
            return try JSONDecoder().decode(Response.self, from: data)
        } catch {
            throw ClientError(status: 200, code: .badResponse, message: "unexpected response from \(path): \(error)")
        }
    }

    /// A call whose answer is text (the metrics exposition).
    func text(_ method: String, _ path: String) async throws(ClientError) -> String {
        String(decoding: try await send(method, path), as: UTF8.self)
    }

    /// Sends a request; the body of a 2xx answer, else the server's error. With several servers it follows a
    /// follower's `307` to the leader, waits out a failover (`503 no_leader`), and tries the next server when
    /// one cannot be reached: at once for a call that cannot have changed anything (a read, or a connection
    /// that was never made), else on the next call.
    func send(
        _ method: String,
        _ path: String,
        query: [URLQueryItem] = [],
        body: Data? = nil,
        timeout: Double = 30,
        longPoll: Bool = false,
        gzip: Bool = false
    ) async throws(ClientError) -> Data {
        let several = list.servers.count > 1
        // How long a call may spend finding the leader (a failover takes the lease plus a check).
        let deadline = ContinuousClock.now + .seconds(Self.leaderSearchSeconds)
        var attempts = 0
        while true {
            attempts += 1
            let server = list.now
            let (status, data): (Int, Data)
            let sentAt = Date()
            let report = path == "/v1/agent/report"
            do {
                (status, data) = try await exchange(server, method, path, query: query, body: body, timeout: timeout, longPoll: longPoll, gzip: gzip)
                // Taken (2xx), or nothing can be requeued now (503: no leader, or the leader's store failing). A
                // redirect, or a refusal (a revoked certificate, a rotated token), is not contact.
                if report && (200..<300).contains(status) { list.heard(at: sentAt) }
                if report && status == 503 { list.heard(at: Date()) }
            } catch {
                // Turned away: the server is down now; nothing can be requeued until one starts, taking every node as alive.
                if report && error.turnedAway { list.heard(at: Date()) }
                guard error.code == .unreachable && several else { throw error }
                list.skip(server)
                let harmless = method == "GET" || method == "HEAD" || error.message.contains(Self.notConnected)
                guard harmless && ContinuousClock.now < deadline else { throw error }
                // Round the list once at once; after that, a follower may still name the dead leader: wait a little.
                if attempts >= list.servers.count { try await pause() }
                continue
            }
            // A redirect or a failover is followed even with one server given (a follower's address).
            if ContinuousClock.now < deadline {
                if status == 307, let leader = try? JSONDecoder().decode(LeaderRedirect.self, from: data), let url = URL(string: leader.leader) {
                    list.follow(url)
                    if attempts > 2 * list.servers.count { try await pause() }
                    continue
                }
                let refusal = status == 503 ? (try? JSONDecoder().decode(APIErrorBody.self, from: data))?.error.code : nil
                if refusal == .noLeader {
                    try await pause()
                    continue
                }
                // A server whose store fails changed nothing; with others to ask (it may be a leader cut off from the
                // database, about to step down), ask the next.
                if refusal == .storeUnavailable && several {
                    list.skip(server)
                    try await pause()
                    continue
                }
            }
            guard (200..<300).contains(status) else {
                if let body = try? JSONDecoder().decode(APIErrorBody.self, from: data) {
                    throw ClientError(status: status, code: body.error.code, message: body.error.message)
                }
                throw ClientError(status: status, code: .unknown, message: "HTTP \(status): " + String(decoding: data.prefix(200), as: UTF8.self))
            }
            return data
        }
    }

    /// How long one call may spend following redirects and waiting out a failover.
    static let leaderSearchSeconds: Int64 = 15

    /// A short wait between tries while the servers change leader; cancellation ends the call.
    private func pause() async throws(ClientError) {
        do { try await Task.sleep(for: .milliseconds(200)) } catch {
            throw ClientError(status: nil, code: .unreachable, message: "cancelled while looking for the leader")
        }
    }

    /// Whether a failure came from the server's host (a refusal, a reset, a close) rather than from silence.
    static func turnedAway(_ error: any Error) -> Bool {
        if let failure = error as? HTTPTransport.Failure { return failure.closedByPeer }
        if let error = error as? IOError { return [ECONNREFUSED, ECONNRESET, EPIPE].contains(error.errnoCode) }
        if let error = error as? ChannelError { return error == .ioOnClosedChannel || error == .eof || error == .inputClosed }
        return false
    }

    /// Said of a server whose connection was never made (nothing was sent).
    static let notConnected = "no connection was made"

    /// One exchange with one server: its status and body.
    private func exchange(
        _ server: URL,
        _ method: String,
        _ path: String,
        query: [URLQueryItem],
        body: Data?,
        timeout: Double,
        longPoll: Bool,
        gzip: Bool
    ) async throws(ClientError) -> (Int, Data) {
        guard server.scheme == "http" || server.scheme == "https", let host = server.host else {
            throw ClientError(status: nil, code: .badServer, message: "\(server): expected an http:// or https:// URL")
        }
        // https:// is TLS or an error, never plain text.
        let tls = server.scheme == "https" ? trust : nil
        if tls != nil { _ = try trust.context() }  // an authority that cannot be loaded is said before connecting
        var components = URLComponents()
        let base = server.path[...].trimming { $0 == "/" }
        components.percentEncodedPath = (base.isEmpty ? "" : "/" + base) + path
        if !query.isEmpty { components.queryItems = query }
        guard let uri = components.string else { throw ClientError(status: nil, code: .badServer, message: "invalid URL for \(path)") }
        var headers = [("Authorization", "Bearer \(token)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if gzip { headers.append(("Content-Encoding", "gzip")) }
        #if canImport(Glibc)
        if oneShot && tls == nil {
            do {
                return try OneShotHTTP.send(
                    method: method,
                    host: host,
                    port: ServerList.port(server),
                    uri: uri,
                    headers: headers,
                    body: body,
                    timeout: timeout
                )
            } catch {
                let said = error.notConnected ? "cannot reach \(server) (\(Self.notConnected))" : "cannot reach \(server)"
                var failure = ClientError(status: nil, code: .unreachable, message: "\(said): \(error)")
                failure.turnedAway = error.turnedAway
                throw failure
            }
        }
        #endif
        do {
            if let connection = list.connection(for: server, longPoll: longPoll) {
                return try await connection.send(method: HTTPMethod(rawValue: method), uri: uri, headers: headers, body: body, timeout: timeout)
            }
            return try await HTTPTransport.send(
                method: HTTPMethod(rawValue: method),
                host: host,
                port: ServerList.port(server),
                uri: uri,
                headers: headers,
                body: body,
                timeout: timeout,
                tls: tls
            )
        } catch let error as NIOConnectionError {
            var failure = ClientError(status: nil, code: .unreachable, message: "cannot reach \(server) (\(Self.notConnected)): \(error)")
            failure.turnedAway = !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { Self.turnedAway($0.error) }
            throw failure
        } catch {
            if let explained = trust.explain(error, server: server) {
                // Refused in the handshake: nothing was sent, the token included.
                throw ClientError(status: nil, code: .badServer, message: "\(explained); nothing was sent")
            }
            var failure = ClientError(status: nil, code: .unreachable, message: "cannot reach \(server): \(error)")
            failure.turnedAway = Self.turnedAway(error)
            throw failure
        }
    }
}

/// A follower's answer: where the leader is.
struct LeaderRedirect: Decodable {
    var leader: String
}

/// A `--server` list entry that is not an http(s) URL with a host.
public struct ServerListError: Error, CustomStringConvertible {
    public var entry: String
    public var description: String { "invalid value \"\(entry)\": expected a URL such as http://10.0.0.1:7070, or several separated by commas" }
}
