import AllotAPI
import Crypto
import Foundation
import SwiftASN1
import X509

/// The server's TLS files under `<data-dir>/tls/`: its private certificate authority (`ca.pem`, `ca-key.pem`) and
/// the server certificate it issued (`server.pem`, `server-key.pem`). Keys are readable by their owner only.
///
/// The authority is made once and kept: agents and clients pin it (the file, or its fingerprint), so reissuing
/// the server certificate — for new names, or before it ends — changes nothing for them.
public struct ServerTLSFiles: Sendable, Equatable {
    public let directory: String
    /// SHA-256 of the authority's certificate (DER), in lowercase hex: what a client pins with `--ca-fingerprint`.
    public let caFingerprint: String
    /// The names and addresses the server certificate holds.
    public let names: [String]

    public var caPath: String { directory + "/ca.pem" }
    public var caKeyPath: String { directory + "/ca-key.pem" }
    public var certificatePath: String { directory + "/server.pem" }
    public var keyPath: String { directory + "/server-key.pem" }

    /// How long the authority lasts, and a server certificate.
    public static let authorityLifetime: TimeInterval = 10 * 365 * 86_400
    public static let certificateLifetime: TimeInterval = 365 * 86_400
    /// A server certificate this close to its end is reissued at the next start.
    public static let renewBefore: TimeInterval = 30 * 86_400

    /// Makes the authority on first use, and a server certificate for `names` (DNS names and IP addresses)
    /// unless the one there already holds exactly those names, was issued by this authority and lasts more than
    /// ``renewBefore``.
    public static func prepare(in directory: String, names: [String], now: Date = Date()) throws(TLSSetupError) -> ServerTLSFiles {
        let names = Array(Set(names.filter { !$0.isEmpty })).sorted()
        guard !names.isEmpty else { throw TLSSetupError("a server certificate needs at least one name or address") }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw TLSSetupError("cannot create \(directory): \(error)")
        }
        let files = PartialFiles(directory: directory)
        let (authority, authorityKey) = try loadOrMakeAuthority(files, now: now)
        let alternativeNames = try names.map { name throws(TLSSetupError) in try generalName(name) }
        if try !currentCertificateServes(files, alternativeNames, authority: authority, now: now) {
            let key = P256.Signing.PrivateKey()
            let certificate: Certificate
            do {
                certificate = try Certificate(
                    version: .v3,
                    serialNumber: Certificate.SerialNumber(),
                    publicKey: Certificate.PrivateKey(key).publicKey,
                    notValidBefore: now.addingTimeInterval(-300),
                    notValidAfter: now.addingTimeInterval(certificateLifetime),
                    issuer: authority.subject,
                    subject: try DistinguishedName {
                        OrganizationName("Allot")
                        CommonName(names[0])
                    },
                    signatureAlgorithm: .ecdsaWithSHA256,
                    extensions: try Certificate.Extensions {
                        Critical(BasicConstraints.notCertificateAuthority)
                        Critical(KeyUsage(digitalSignature: true))
                        try ExtendedKeyUsage([.serverAuth])
                        SubjectAlternativeNames(alternativeNames)
                    },
                    issuerPrivateKey: authorityKey
                )
            } catch {
                throw TLSSetupError("cannot issue the server certificate: \(error)")
            }
            // The key first: a certificate is never on disk without its key.
            try write(key.pemRepresentation, to: files.keyPath, secret: true)
            try write(pem(certificate), to: files.certificatePath, secret: false)
        }
        return ServerTLSFiles(directory: directory, caFingerprint: try fingerprint(authority), names: names)
    }

    /// SHA-256 of a certificate's DER encoding, lowercase hex.
    public static func fingerprint(_ certificate: Certificate) throws(TLSSetupError) -> String {
        var serializer = DER.Serializer()
        do { try serializer.serialize(certificate) } catch { throw TLSSetupError("cannot encode a certificate: \(error)") }
        return Hex.encode(SHA256.hash(data: serializer.serializedBytes))
    }

    /// The fingerprint of the first certificate in a PEM file.
    public static func fingerprint(pemFile path: String) throws(TLSSetupError) -> String {
        try fingerprint(readCertificate(path))
    }

    /// The authority under `directory`, which must be there whole (an HTTPS server makes it at its first start).
    static func existingAuthority(in directory: String) throws(TLSSetupError) -> (Certificate, Certificate.PrivateKey) {
        let files = PartialFiles(directory: directory)
        guard FileManager.default.fileExists(atPath: files.caPath), FileManager.default.fileExists(atPath: files.caKeyPath) else {
            throw TLSSetupError("no certificate authority in \(directory)")
        }
        return try loadOrMakeAuthority(files, now: Date())
    }

    // MARK: - Pieces

    private struct PartialFiles {
        let directory: String
        var caPath: String { directory + "/ca.pem" }
        var caKeyPath: String { directory + "/ca-key.pem" }
        var certificatePath: String { directory + "/server.pem" }
        var keyPath: String { directory + "/server-key.pem" }
    }

    private static func loadOrMakeAuthority(_ files: PartialFiles, now: Date) throws(TLSSetupError) -> (Certificate, Certificate.PrivateKey) {
        let manager = FileManager.default
        switch (manager.fileExists(atPath: files.caPath), manager.fileExists(atPath: files.caKeyPath)) {
        case (true, true):
            let certificate = try readCertificate(files.caPath)
            let key: Certificate.PrivateKey
            do { key = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: files.caKeyPath, encoding: .utf8)) } catch {
                throw TLSSetupError("cannot read the authority's key \(files.caKeyPath): \(error)")
            }
            guard key.publicKey == certificate.publicKey else {
                throw TLSSetupError("\(files.caKeyPath) is not the key of \(files.caPath): restore the pair, or remove both to make a new authority")
            }
            return (certificate, key)
        case (false, false):
            let key = P256.Signing.PrivateKey()
            let wrapped = Certificate.PrivateKey(key)
            let certificate: Certificate
            do {
                let name = try DistinguishedName {
                    OrganizationName("Allot")
                    CommonName("Allot cluster authority \(Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) }))")
                }
                certificate = try Certificate(
                    version: .v3,
                    serialNumber: Certificate.SerialNumber(),
                    publicKey: wrapped.publicKey,
                    notValidBefore: now.addingTimeInterval(-300),
                    notValidAfter: now.addingTimeInterval(authorityLifetime),
                    issuer: name,
                    subject: name,
                    signatureAlgorithm: .ecdsaWithSHA256,
                    extensions: try Certificate.Extensions {
                        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    },
                    issuerPrivateKey: wrapped
                )
            } catch {
                throw TLSSetupError("cannot make the certificate authority: \(error)")
            }
            try write(key.pemRepresentation, to: files.caKeyPath, secret: true)
            try write(pem(certificate), to: files.caPath, secret: false)
            return (certificate, wrapped)
        case (true, false):
            throw TLSSetupError("\(files.caPath) is there but its key \(files.caKeyPath) is not: restore it, or remove both to make a new authority")
        case (false, true):
            throw TLSSetupError("\(files.caKeyPath) is there but \(files.caPath) is not: restore it, or remove both to make a new authority")
        }
    }

    private static func currentCertificateServes(
        _ files: PartialFiles,
        _ names: [GeneralName],
        authority: Certificate,
        now: Date
    ) throws(TLSSetupError) -> Bool {
        let manager = FileManager.default
        guard manager.fileExists(atPath: files.certificatePath), manager.fileExists(atPath: files.keyPath) else { return false }
        let certificate = try readCertificate(files.certificatePath)
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: files.keyPath, encoding: .utf8)) } catch {
            return false  // an unreadable key: issue a new pair
        }
        let held: [GeneralName]
        do { held = Array(try certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()) } catch { return false }
        return key.publicKey == certificate.publicKey && certificate.issuer == authority.subject
            && Set(held) == Set(names) && certificate.notValidAfter.timeIntervalSince(now) > renewBefore && certificate.notValidBefore <= now
    }

    /// A DNS name, or an IPv4/IPv6 address as the address itself (clients match addresses only against those).
    static func generalName(_ name: String) throws(TLSSetupError) -> GeneralName {
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: &v4) { Array($0) })))
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: &v6) { Array($0) })))
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.*")
        guard name.count <= 253, name.allSatisfy(allowed.contains) else {
            throw TLSSetupError("\"\(name)\" is neither a DNS name nor an IP address")
        }
        return .dnsName(name)
    }

    static func readCertificate(_ path: String) throws(TLSSetupError) -> Certificate {
        do { return try Certificate(pemEncoded: try String(contentsOfFile: path, encoding: .utf8)) } catch {
            throw TLSSetupError("cannot read the certificate \(path): \(error)")
        }
    }

    static func pem(_ certificate: Certificate) throws(TLSSetupError) -> String {
        do { return try certificate.serializeAsPEM().pemString } catch { throw TLSSetupError("cannot encode a certificate: \(error)") }
    }

    /// Writes through a temporary file and a rename, so a crash leaves the old file or the new one.
    static func write(_ text: String, to path: String, secret: Bool) throws(TLSSetupError) {
        let temporary = path + ".tmp-\(getpid())"
        let created = FileManager.default.createFile(
            atPath: temporary,
            contents: Data(text.utf8),
            attributes: [.posixPermissions: secret ? 0o600 : 0o644]
        )
        guard created, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw TLSSetupError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// TLS files that cannot be made or read, and why.
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
