import AllotAPI
import Foundation
import NIOSSL
import Synchronization

/// What an `https://` server's certificate must chain to: the system's authorities, or the one a cluster made
/// for itself (`--ca FILE`, the server's `tls/ca.pem`). The certificate must also be for the name or address
/// dialled. There is no fallback to plain text: an `https://` URL is TLS or an error.
public struct ClientTrust: Sendable {
    /// The authority's PEM file, or `nil` for the system's authorities.
    public let authorityFile: String?
    private let cache = ContextCache()

    public static var system: ClientTrust { ClientTrust(authorityFile: nil) }

    /// Trusts only the authorities in this PEM file.
    public static func authority(_ path: String) -> ClientTrust { ClientTrust(authorityFile: path) }

    private init(authorityFile: String?) {
        self.authorityFile = authorityFile
    }

    /// The SSL context, made at the first `https://` call and kept.
    func context() throws(ClientError) -> NIOSSLContext {
        try cache.context {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let authorityFile {
                let roots = try NIOSSLCertificate.fromPEMFile(authorityFile)
                guard !roots.isEmpty else { throw ClientError(status: nil, code: .badServer, message: "\(authorityFile) holds no certificate") }
                configuration.trustRoots = .certificates(roots)
            }
            return try NIOSSLContext(configuration: configuration)
        } failure: { error in
            if let error = error as? ClientError { return error }
            return ClientError(
                status: nil,
                code: .badServer,
                message: "cannot load the certificate authority \(authorityFile ?? "(system)"): \(error)"
            )
        }
    }

    /// A handshake failure said plainly: what did not verify, against what.
    func explain(_ error: any Error, server: URL) -> String? {
        let text = "\(error)"
        let against = authorityFile.map { "the authority in \($0)" } ?? "the system's authorities"
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
private final class ContextCache: Sendable {
    private let made = Mutex<Result<NIOSSLContext, ClientError>?>(nil)

    func context(_ make: () throws -> NIOSSLContext, failure: (any Error) -> ClientError) throws(ClientError) -> NIOSSLContext {
        try made.withLock { made in
            if let made { return made }
            let result = Result { try make() }.mapError(failure)
            made = result
            return result
        }.get()
    }
}
