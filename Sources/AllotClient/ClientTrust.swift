import AllotAPI
import AllotTLS
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// What an `https://` server's certificate must chain to: the system's authorities, the one a cluster made for
/// itself (`--ca FILE`, the server's `tls/ca.pem`), or that authority named by its SHA-256 fingerprint
/// (`--ca-fingerprint`). The certificate must also be for the name or address dialled. There is no fallback to
/// plain text: an `https://` URL is TLS or an error.
public struct ClientTrust: Sendable {
    enum Anchor: Sendable, Equatable {
        case system
        case file(String)
        case fingerprint(PinnedAuthority)
    }

    let anchor: Anchor
    /// The certificate chain and key this client presents (a node's own, for mutual TLS), as PEM files.
    public private(set) var identity: (certificate: String, key: String)?
    private let cache = ContextCache()

    public static var system: ClientTrust { ClientTrust(anchor: .system) }

    /// Trusts only the authorities in this PEM file.
    public static func authority(_ path: String) -> ClientTrust { ClientTrust(anchor: .file(path)) }

    /// Trusts only the authority with this SHA-256 fingerprint, which the server must present in its chain.
    public static func fingerprint(_ pinned: PinnedAuthority) -> ClientTrust { ClientTrust(anchor: .fingerprint(pinned)) }

    private init(anchor: Anchor, identity: (certificate: String, key: String)? = nil) {
        self.anchor = anchor
        self.identity = identity
    }

    /// The same trust, presenting this certificate chain and key (PEM files) to the server.
    public func presenting(certificate: String, key: String) -> ClientTrust {
        ClientTrust(anchor: anchor, identity: (certificate, key))
    }

    /// The SSL context, made at the first `https://` call and kept.
    func context() throws(ClientError) -> NIOSSLContext {
        try cache.context { [anchor, identity] in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let identity {
                do {
                    configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(identity.certificate).map { .certificate($0) }
                    configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: identity.key, format: .pem))
                } catch {
                    throw ClientError(
                        status: nil,
                        code: .badServer,
                        message: "cannot load this node's certificate \(identity.certificate) and key \(identity.key): \(error)"
                    )
                }
            }
            if case .file(let authorityFile) = anchor {
                let roots = try NIOSSLCertificate.fromPEMFile(authorityFile)
                guard !roots.isEmpty else { throw ClientError(status: nil, code: .badServer, message: "\(authorityFile) holds no certificate") }
                configuration.trustRoots = .certificates(roots)
            }
            return try NIOSSLContext(configuration: configuration)
        } failure: { [anchor] error in
            if let error = error as? ClientError { return error }
            let what = if case .file(let path) = anchor { path } else { "(system)" }
            return ClientError(status: nil, code: .badServer, message: "cannot load the certificate authority \(what): \(error)")
        }
    }

    /// The handler that goes first in a connection's pipeline to `host`: the name dialled is sent (SNI) and
    /// checked against the certificate; an address is checked against the certificate's addresses.
    func handler(host: String) throws -> NIOSSLClientHandler {
        let context = try context()
        let address = PinnedAuthority.isAddress(host)
        guard case .fingerprint(let pinned) = anchor else {
            return try NIOSSLClientHandler(context: context, serverHostname: address ? nil : host)
        }
        let refusals = cache.refusals
        return try NIOSSLClientHandler(context: context, serverHostname: address ? nil : host) { chain, promise in
            let ders: [[UInt8]]
            do { ders = try chain.map { try $0.toDERBytes() } } catch {
                refusals.withLock { $0 = "the server's certificates cannot be read: \(error)" }
                return promise.succeed(.failed)
            }
            promise.completeWithTask {
                guard let refusal = await pinned.refusal(ofChain: ders, host: host) else { return .certificateVerified }
                refusals.withLock { $0 = refusal }
                return .failed
            }
        }
    }

    /// A handshake failure said plainly: what did not verify, against what.
    func explain(_ error: any Error, server: URL) -> String? {
        let text = "\(error)"
        let against: String
        switch anchor {
        case .system: against = "the system's authorities"
        case .file(let path): against = "the authority in \(path)"
        case .fingerprint(let pinned):
            guard error is NIOSSLError || text.contains("CERTIFICATE_VERIFY_FAILED") else { return nil }
            if let refusal = cache.refusals.withLock({ $0 }) { return "\(server): \(refusal)" }
            against = "the authority with SHA-256 fingerprint \(pinned.fingerprint)"
        }
        if error as? NIOSSLExtraError == .failedToValidateHostname {
            return "\(server): the server's certificate is not for \(server.host ?? "this host")"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "\(server): the server's certificate does not verify against \(against) (another authority's, or expired)"
        }
        if error is NIOSSLError {
            return "\(server): TLS handshake failed (is it an https:// server?): \(text)"
        }
        return nil
    }
}

/// The context, made once; a failure to make it is kept too (the file will not change within a call's life).
/// Beside it, the last reason a pinned fingerprint refused a server, for the message.
private final class ContextCache: Sendable {
    private let made = Mutex<Result<NIOSSLContext, ClientError>?>(nil)
    let refusals = Refusals()

    final class Refusals: Sendable {
        private let last = Mutex<String?>(nil)
        func withLock<T>(_ body: (inout String?) -> T) -> T { last.withLock { body(&$0) } }
    }

    func context(_ make: () throws -> NIOSSLContext, failure: (any Error) -> ClientError) throws(ClientError) -> NIOSSLContext {
        try made.withLock { made in
            if let made { return made }
            let result = Result { try make() }.mapError(failure)
            made = result
            return result
        }.get()
    }
}
