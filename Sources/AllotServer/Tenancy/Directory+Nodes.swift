import AllotAPI
import AllotStore
import AllotTLS
import Foundation
import HTTPTypes

extension Directory {
    static func bindingKey(_ node: String) -> String { "node-certificate." + node }

    /// The certificate issued to `node`, revoked or not; `nil` before any was.
    public func nodeBinding(_ node: String) async throws(APIError) -> NodeBinding? {
        if let known = bindings[node] { return known }
        let stored: String?
        do { stored = try await store.setting(Self.bindingKey(node)) } catch { throw APIError.from(error) }
        // A record that cannot be read binds the node to nothing known: it must join again.
        let binding = stored.flatMap { try? JSONDecoder().decode(NodeBinding.self, from: Data($0.utf8)) }
        bindings[node] = .some(binding)
        return binding
    }

    /// Records a certificate issued to a node (replacing a revoked one).
    public func bind(_ issued: IssuedNodeCertificate) async throws(APIError) -> NodeBinding {
        let binding = NodeBinding(node: issued.node, fingerprint: issued.fingerprint, issuedAt: clock(), notAfter: issued.notAfter)
        try await save(binding)
        return binding
    }

    /// Revokes the certificate of `node`: its agent's calls are refused until it joins again with the join token.
    public func revokeNodeCertificate(_ node: String) async throws(APIError) -> NodeBinding {
        guard var binding = try await nodeBinding(node) else { throw APIError.notFound("a certificate of node \(node)") }
        if binding.revokedAt == nil {
            binding.revokedAt = clock()
            try await save(binding)
        }
        return binding
    }

    private func save(_ binding: NodeBinding) async throws(APIError) {
        do {
            let text = String(decoding: try JSONEncoder().encode(binding), as: UTF8.self)
            try await store.setSetting(Self.bindingKey(binding.node), text)
        } catch let error as StoreError {
            throw APIError.from(error)
        } catch {
            throw APIError(.internalServerError, .internal, "cannot record the certificate of \(binding.node): \(error)")
        }
        bindings[binding.node] = .some(binding)
    }

    /// Replaces the agent join token with a new one (returned, to show once). Agents holding their own
    /// certificates go on; others, and new machines, need the new token.
    public func rotateJoinToken() async throws(APIError) -> String {
        let secret = Authenticator.newToken()
        let digest = Authenticator.hash(secret)
        do { try await store.setSetting(Authenticator.agentKey, Authenticator.hex(digest)) } catch { throw APIError.from(error) }
        bootstrap.agentHash = digest
        return secret
    }
}
