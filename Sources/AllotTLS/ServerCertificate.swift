import Foundation
import NIOCore
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// The certificate an HTTPS server presents, reloaded while it runs (``reload()``, on SIGHUP): each new
/// connection takes the SSL context made from the chain and key loaded last, so a renewed certificate is served
/// without a restart and connections already open keep theirs.
public final class ServerCertificate: Sendable {
    public enum Source: Sendable, Equatable {
        /// The data directory's own authority and a certificate it issues for these names (see ``ServerTLSFiles``);
        /// a reload reissues it when it is near its end or the names changed, and rereads it otherwise.
        case generated(directory: String, names: [String])
        /// Your chain (the server's certificate first) and its key, reread from these files at each reload.
        case files(certificate: String, key: String)
    }

    struct Loaded: Sendable {
        var context: NIOSSLContext
        var summary: String
        var fingerprint: String?
    }

    /// What is loaded now.
    final class State: Sendable {
        let loaded: Mutex<Loaded>
        init(_ first: Loaded) { loaded = Mutex(first) }
        func withLock<T>(_ body: (inout Loaded) -> T) -> T { loaded.withLock { body(&$0) } }
    }

    public let source: Source
    private let loaded: State

    /// Loads (for `.generated`, first makes) the certificate; fails with what is missing or wrong.
    public init(_ source: Source) throws(TLSSetupError) {
        self.source = source
        loaded = State(try Self.load(source))
    }

    /// What is served now, in one line: the authority's path and fingerprint for a generated certificate.
    public var summary: String { loaded.withLock { $0.summary } }

    /// The SHA-256 fingerprint of the cluster's own authority (`nil` for certificates of your own).
    public var authorityFingerprint: String? { loaded.withLock { $0.fingerprint } }

    /// The SSL context a new connection's handshake uses: the certificate loaded last (TLS 1.2 at least).
    public var context: NIOSSLContext { loaded.withLock { $0.context } }

    /// Where the authority that issues nodes' certificates lives: the data directory's own (`.generated`);
    /// `nil` for certificates of your own, whose authority's key Allot does not hold.
    public var nodeAuthority: String? {
        if case .generated(let directory, _) = source { return directory }
        return nil
    }

    /// Rereads the files (reissuing a generated certificate when due); a failure keeps the certificate served so
    /// far and says why. Returns the new summary.
    @discardableResult
    public func reload() throws(TLSSetupError) -> String {
        let fresh = try Self.load(source)
        loaded.withLock { $0 = fresh }
        return fresh.summary
    }

    private static func load(_ source: Source) throws(TLSSetupError) -> Loaded {
        switch source {
        case .generated(let directory, let names):
            let files = try ServerTLSFiles.prepare(in: directory, names: names)
            // The authority travels with the server's certificate, so a client holding only its fingerprint
            // (`--ca-fingerprint`) finds it in the chain.
            let (chain, key) = try read(certificates: [files.certificatePath, files.caPath], key: files.keyPath)
            return Loaded(
                context: try context(chain: chain, key: key, clientsOf: chain.last),
                summary:
                    "certificate authority \(files.caPath), SHA-256 fingerprint \(files.caFingerprint); server certificate for \(files.names.joined(separator: ", "))",
                fingerprint: files.caFingerprint
            )
        case .files(let certificate, let keyPath):
            let (chain, key) = try read(certificates: [certificate], key: keyPath)
            return Loaded(context: try context(chain: chain, key: key), summary: "certificate \(certificate) (yours)", fingerprint: nil)
        }
    }

    /// With `authority`: a client may present a certificate (a node's), which must then chain to it.
    private static func context(
        chain: [NIOSSLCertificate],
        key: NIOSSLPrivateKey,
        clientsOf authority: NIOSSLCertificate? = nil
    ) throws(TLSSetupError)
        -> NIOSSLContext
    {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let authority {
            configuration.certificateVerification = .optionalVerification
            configuration.trustRoots = .certificates([authority])
        }
        do { return try NIOSSLContext(configuration: configuration) } catch { throw TLSSetupError("cannot make a TLS context: \(error)") }
    }

    private static func read(certificates paths: [String], key keyPath: String) throws(TLSSetupError) -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
        var chain: [NIOSSLCertificate] = []
        let key: NIOSSLPrivateKey
        do {
            for path in paths {
                let certificates = try NIOSSLCertificate.fromPEMFile(path)
                guard !certificates.isEmpty else { throw TLSSetupError("\(path) holds no certificate") }
                chain += certificates
            }
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch let error as TLSSetupError {
            throw error
        } catch {
            throw TLSSetupError("cannot load the certificate \(paths[0]) and key \(keyPath): \(error)")
        }
        // A key that is not the certificate's would fail every handshake: refuse it here instead. (A key type
        // swift-certificates does not read is left to the handshake: `try?`.)
        if let pem = try? String(contentsOfFile: keyPath, encoding: .utf8), let own = try? Certificate.PrivateKey(pemEncoded: pem),
            let leaf = try? Certificate(derEncoded: chain[0].toDERBytes()), own.publicKey != leaf.publicKey
        {
            throw TLSSetupError("\(keyPath) is not the key of the certificate in \(paths[0])")
        }
        return (chain, key)
    }
}
