import AllotAPI
import Crypto
import Foundation
import SwiftASN1
import X509

/// An authority named by the SHA-256 fingerprint of its certificate (`--ca-fingerprint`), as printed by
/// `allot server`: a client that has only the fingerprint, not the file, checks that the server presents that
/// authority in its chain and that its certificate verifies against it, for the name or address dialled.
public struct PinnedAuthority: Sendable, Equatable {
    /// 64 lowercase hex digits.
    public let fingerprint: String

    /// Accepts the hex digits alone, upper or lower case, with or without colons between bytes (as
    /// `openssl x509 -fingerprint -sha256` prints them) and a leading `sha256:` or `SHA256=`.
    public init(parsing text: String) throws(TLSSetupError) {
        var digits = text.trimmingCharacters(in: .whitespaces).lowercased()
        for prefix in ["sha256:", "sha256=", "sha256 fingerprint="] where digits.hasPrefix(prefix) {
            digits = String(digits.dropFirst(prefix.count))
        }
        digits.removeAll { $0 == ":" }
        guard digits.count == 64, digits.allSatisfy(\.isHexDigit) else {
            throw TLSSetupError("\"\(text)\" is not a SHA-256 fingerprint: expected 64 hex digits, as `allot server` prints it")
        }
        fingerprint = digits
    }

    /// Why the chain a server presented (its certificate first, DER) does not verify against this authority for
    /// `host` (a DNS name or an IP address), now; `nil` when it does.
    public func refusal(ofChain chain: [[UInt8]], host: String) async -> String? {
        let certificates: [Certificate]
        do { certificates = try chain.map { try Certificate(derEncoded: $0) } } catch {
            return "the server's certificates cannot be read: \(error)"
        }
        guard let leaf = certificates.first else { return "the server presented no certificate" }
        guard let index = chain.firstIndex(where: { Hex.encode(SHA256.hash(data: $0)) == fingerprint }) else {
            return
                "the server did not present the authority with SHA-256 fingerprint \(fingerprint) (another authority's, or a server that does not send it: pin the file with --ca instead)"
        }
        let address = Self.isAddress(host)
        var verifier = Verifier(rootCertificates: CertificateStore([certificates[index]])) {
            RFC5280Policy()
            ServerIdentityPolicy(serverHostname: address ? nil : host, serverIP: address ? host : nil)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(certificates.dropFirst()))
        switch result {
        case .validCertificate: return nil
        case .couldNotValidate(let failures):
            let now = Date()
            if leaf.notValidAfter < now || leaf.notValidBefore > now {
                return "the server's certificate is not valid now (valid \(leaf.notValidBefore) to \(leaf.notValidAfter))"
            }
            let reasons = failures.map { "\($0.policyFailureReason)" }
            if reasons.contains(where: { $0.lowercased().contains("name") || $0.lowercased().contains("ip") }) {
                return "the server's certificate is not for \(host)"
            }
            return "the server's certificate does not verify against the authority with SHA-256 fingerprint \(fingerprint): "
                + (reasons.first ?? "no chain to it")
        }
    }

    /// Whether `host` is an IPv4 or IPv6 address rather than a name.
    public static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
