import NIOSSL

/// SwiftNIO SSL configurations from PEM files: the server's, and a client's that trusts one authority only.
public enum TLSConfigurations {
    /// A server presenting the chain in `certificatePath` (its own certificate first) with the key in `keyPath`;
    /// TLS 1.2 at least.
    public static func server(certificatePath: String, keyPath: String) throws(TLSSetupError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw TLSSetupError("cannot load the certificate \(certificatePath) and key \(keyPath): \(error)")
        }
        guard !chain.isEmpty else { throw TLSSetupError("\(certificatePath) holds no certificate") }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// A client that accepts only servers whose chain ends at the authority in `caPath`, for the name it dialled.
    public static func client(trusting caPath: String) throws(TLSSetupError) -> TLSConfiguration {
        let roots: [NIOSSLCertificate]
        do { roots = try NIOSSLCertificate.fromPEMFile(caPath) } catch { throw TLSSetupError("cannot load the authority \(caPath): \(error)") }
        guard !roots.isEmpty else { throw TLSSetupError("\(caPath) holds no certificate") }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(roots)
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}
