import AllotAPI
import AllotTLS
import HTTPTypes
import NIOCore
import NIOSSL

/// The node a connection's client certificate names (mutual TLS), read from its TLS handler.
enum NodeIdentity {
    /// `nil` on plain HTTP, or when the client presented no certificate (the TLS layer has already checked that
    /// one presented chains to the cluster's authority).
    static func presented(on channel: any Channel) async -> (node: String, fingerprint: String)? {
        // No TLS handler (plain HTTP), or a connection closing meanwhile: no certificate.
        let der = try? await channel.eventLoop.submit { () throws -> [UInt8]? in
            try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate?.toDERBytes()
        }.get()
        guard let der = der ?? nil else { return nil }
        return NodeCertificates.identify(der: der)
    }

    /// A report or directive for `node`: with a node's certificate, only its own; with the join token alone, only
    /// a node that holds no certificate of its own (a replayed join token cannot speak for a node that does).
    static func require(_ node: String, _ context: AllotRequestContext, directory: Directory) async throws(APIError) {
        if let certified = context.certifiedNode {
            guard certified == node else { throw APIError(.forbidden, .forbidden, "this certificate is node \(certified)'s, not \(node)'s") }
            return
        }
        if let binding = try await directory.nodeBinding(node), binding.isActive {
            throw APIError(
                .forbidden,
                .forbidden,
                "node \(node) holds a certificate of its own: the join token alone cannot speak for it (`allot node \(node) revoke` lets it join afresh)"
            )
        }
    }
}
