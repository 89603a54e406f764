import NIOSSL

/// A SwiftNIO SSL client configuration that trusts one authority only (a server's is ``ServerCertificate``'s).
public enum TLSConfigurations {
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
