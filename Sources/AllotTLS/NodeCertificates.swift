import AllotAPI
import Crypto
import Foundation
import SwiftASN1
import X509

/// Node identities (mutual TLS): an agent exchanges the join token once for a certificate of its own, issued by
/// the cluster's authority for its node's name, and from then on its calls are authenticated by that
/// certificate.
public enum NodeCertificates {
    /// How long a node's certificate lasts.
    public static let lifetime: TimeInterval = 365 * 86_400

    /// A new P-256 key for `node` and a certificate signing request for it (both PEM).
    public static func request(node: String) throws(TLSSetupError) -> (keyPEM: String, requestPEM: String) {
        let key = P256.Signing.PrivateKey()
        do {
            let request = try CertificateSigningRequest(
                version: .v1,
                subject: try DistinguishedName {
                    OrganizationName("Allot nodes")
                    CommonName(node)
                },
                privateKey: Certificate.PrivateKey(key),
                attributes: CertificateSigningRequest.Attributes(),
                signatureAlgorithm: .ecdsaWithSHA256
            )
            return (key.pemRepresentation, try request.serializeAsPEM().pemString)
        } catch {
            throw TLSSetupError("cannot make a certificate request for \(node): \(error)")
        }
    }

    /// Signs `requestPEM` with the authority under `directory` (``ServerTLSFiles``) for `node`: the request must
    /// be signed by its own key and name that node. The certificate (then the authority's, as a chain) comes back
    /// with its fingerprint.
    public static func issue(
        requestPEM: String,
        node: String,
        authorityIn directory: String,
        now: Date = Date()
    ) throws(TLSSetupError)
        -> IssuedNodeCertificate
    {
        let request: CertificateSigningRequest
        do { request = try CertificateSigningRequest(pemEncoded: requestPEM) } catch {
            throw TLSSetupError("the certificate request is not a PEM certificate signing request: \(error)")
        }
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw TLSSetupError("the certificate request is not signed by its own key")
        }
        let named = commonNames(request.subject)
        guard named == [node] else {
            throw TLSSetupError("the certificate request names \(named.first.map { "\"\($0)\"" } ?? "no node"), not \"\(node)\"")
        }
        let (authority, authorityKey) = try ServerTLSFiles.existingAuthority(in: directory)
        let certificate: Certificate
        do {
            certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: request.publicKey,
                notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: now.addingTimeInterval(lifetime),
                issuer: authority.subject,
                subject: try DistinguishedName {
                    OrganizationName("Allot nodes")
                    CommonName(node)
                },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.clientAuth])
                },
                issuerPrivateKey: authorityKey
            )
        } catch {
            throw TLSSetupError("cannot issue a certificate for \(node): \(error)")
        }
        return IssuedNodeCertificate(
            node: node,
            fingerprint: try ServerTLSFiles.fingerprint(certificate),
            notAfter: certificate.notValidAfter.timeIntervalSince1970,
            pem: try ServerTLSFiles.pem(certificate) + "\n" + (try ServerTLSFiles.pem(authority)) + "\n"
        )
    }

    /// The common names (CN) of a distinguished name: a node's certificate and its request carry one, the node's.
    static func commonNames(_ name: DistinguishedName) -> [String] {
        name.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }.map { String(describing: $0.value) }
    }

    /// The node a presented client certificate (DER) was issued for, and its fingerprint; `nil` for one that is
    /// not a node's.
    public static func identify(der: [UInt8]) -> (node: String, fingerprint: String)? {
        // A certificate that cannot be read is no node's.
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        let names = commonNames(certificate.subject)
        guard names.count == 1 else { return nil }
        return (names[0], Hex.encode(SHA256.hash(data: der)))
    }
}

/// A certificate issued to a node.
public struct IssuedNodeCertificate: Codable, Sendable, Equatable {
    public var node: String
    /// SHA-256 of the certificate (DER), hex: what the server checks a presented certificate against.
    public var fingerprint: String
    /// Seconds since 1970.
    public var notAfter: Double
    /// The node's certificate, then the authority's (PEM).
    public var pem: String
}
