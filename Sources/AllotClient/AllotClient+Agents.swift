import AllotAPI
import AllotTLS
import Foundation

/// The calls agents make, and the node-certificate calls around them.
extension AllotClient {
    /// Sends a report, gzip-compressed.
    public func report(_ report: AgentReport, timeout: Double = 30) async throws(ClientError) -> AgentDirective {
        let body = Data(Gzip.compress(Array(try encode(report))))
        return try await call("POST", "/v1/agent/report", body: body, timeout: timeout, gzip: true)
    }

    /// While a report awaits its answer, having reached a server's host whole (TCP): when that host last
    /// acknowledged anything on the connection. A slow server (its store stalled) is heard from; a cut link is
    /// not. `nil` when no such report is out.
    public func reportDelivered() async -> Date? {
        var latest: Date?
        for connection in list.connections.values {
            if let heard = await connection.hostLastHeard() { latest = max(latest ?? heard, heard) }
        }
        return latest
    }

    /// Whether a report is stuck on its way to a server: its connection still being made, or its bytes not
    /// acknowledged by the server's host (TCP). What a cut link looks like, unlike a slow server.
    public func reportStuck() async -> Bool {
        for connection in list.connections.values where await connection.undelivered() { return true }
        return false
    }

    /// Exchanges a node's certificate signing request (with the join token) for its certificate.
    public func nodeCertificate(_ request: NodeCertificateRequest) async throws(ClientError) -> IssuedNodeCertificate {
        try await call("POST", "/v1/agent/certificate", body: try encode(request))
    }

    /// Revokes a node's own certificate: it must join again with the join token.
    public func revokeNodeCertificate(_ node: String) async throws(ClientError) -> NodeBinding {
        try await call("POST", "/v1/nodes/\(escape(node))/revoke")
    }

    /// Replaces the agent join token; the new one is shown once.
    public func rotateJoinToken() async throws(ClientError) -> JoinTokenRotation { try await call("POST", "/v1/tokens/join/rotate") }

    public func directive(node: String, after version: Int, wait seconds: Double) async throws(ClientError) -> AgentDirective {
        try await call(
            "GET",
            "/v1/agent/directive",
            query: [
                URLQueryItem(name: "node", value: node), URLQueryItem(name: "version", value: "\(version)"),
                URLQueryItem(name: "wait", value: "\(seconds)"),
            ],
            timeout: seconds + 15
        )
    }
}
