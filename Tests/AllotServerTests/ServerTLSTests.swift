import AllotAPI
import AllotStore
import AllotTLS
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOHTTP1
import NIOSSL
import SwiftASN1
import Testing
import X509

@testable import AllotServer

/// The server's own certificate authority and HTTPS: a client that pins the authority gets in; one that trusts
/// another authority, a certificate for other names or an expired one is refused; plain HTTP gets nothing.
@Suite struct ServerTLSTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("allot-tls-\(UUID().uuidString)").path
    }

    /// Serves the API over HTTPS with the certificate in `files` and calls `body` with the port.
    func serving(_ files: ServerTLSFiles, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await serving(try ServerCertificate(.files(certificate: files.certificatePath, key: files.keyPath)), body)
    }

    func serving(_ certificate: ServerCertificate, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let store = MemoryStore()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration())
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: Authenticator.newToken(), agentToken: Authenticator.newToken()))
        try await directory.load()
        let app = try buildApplication(plane: plane, directory: directory, port: 0, tls: certificate)
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }

    enum Outcome: Equatable {
        case success(Int)
        case failure(String)
    }

    /// GET `url` with a client that trusts only the authority in `caPath`; the status, or the error's text.
    func get(_ url: String, trusting caPath: String) async -> Outcome {
        var configuration = HTTPClient.Configuration()
        do { configuration.tlsConfiguration = try TLSConfigurations.client(trusting: caPath) } catch { return .failure("\(error)") }
        // The pool retries a failed handshake until the connect timeout, then reports the last error.
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(3), read: .seconds(10))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let result: Outcome
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(20))
            result = .success(Int(response.status.code))
        } catch {
            result = .failure("\(error)")
        }
        try? await client.shutdown()  // a client that fails to shut down leaks a pool in a test process only
        return result
    }

    @Test func theAuthorityIsMadeOnceAndTheServerCertificateFollowsTheNames() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try ServerTLSFiles.prepare(in: directory, names: ["127.0.0.1", "localhost"])
        let certificate = try String(contentsOfFile: first.certificatePath, encoding: .utf8)
        #expect(first.caFingerprint.count == 64)
        #expect(try ServerTLSFiles.fingerprint(pemFile: first.caPath) == first.caFingerprint)
        for key in [first.caKeyPath, first.keyPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key)")
        }
        // The same names: nothing is reissued.
        let again = try ServerTLSFiles.prepare(in: directory, names: ["localhost", "127.0.0.1"])
        #expect(again == first)
        #expect(try String(contentsOfFile: first.certificatePath, encoding: .utf8) == certificate)
        // Another name: a new server certificate from the same authority, holding exactly the new names.
        let renamed = try ServerTLSFiles.prepare(in: directory, names: ["127.0.0.1", "allot.example", "10.1.2.3"])
        #expect(renamed.caFingerprint == first.caFingerprint)
        #expect(try String(contentsOfFile: first.certificatePath, encoding: .utf8) != certificate)
        let issued = try Certificate(pemEncoded: try String(contentsOfFile: renamed.certificatePath, encoding: .utf8))
        let names = Set(try issued.extensions.subjectAlternativeNames ?? SubjectAlternativeNames())
        #expect(names.contains(.dnsName("allot.example")) && !names.contains(.dnsName("localhost")) && names.count == 3)
        // A missing key is never replaced silently: the authority's files must come as a pair.
        try FileManager.default.removeItem(atPath: first.caKeyPath)
        #expect(throws: TLSSetupError.self) { try ServerTLSFiles.prepare(in: directory, names: ["127.0.0.1"]) }
        #expect(throws: TLSSetupError.self) { try ServerTLSFiles.prepare(in: temporaryDirectory(), names: ["not a name!"]) }
    }

    @Test func aClientPinningTheAuthorityGetsInAndOthersAreRefused() async throws {
        let directory = temporaryDirectory()
        let stranger = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: stranger)
        }
        let files = try ServerTLSFiles.prepare(in: directory, names: ["127.0.0.1", "localhost"])
        let other = try ServerTLSFiles.prepare(in: stranger, names: ["127.0.0.1"])
        try await serving(files) { port in
            #expect(await get("https://127.0.0.1:\(port)/health", trusting: files.caPath) == .success(200))
            #expect(await get("https://localhost:\(port)/health", trusting: files.caPath) == .success(200))
            // Another authority: the handshake fails, before any request (and so any token) is sent.
            guard case .failure(let refused) = await get("https://127.0.0.1:\(port)/health", trusting: other.caPath) else {
                Issue.record("a client trusting another authority got in")
                return
            }
            #expect(refused.contains("CERTIFICATE_VERIFY_FAILED"), "\(refused)")
            // Plain HTTP on the HTTPS port: no answer.
            guard case .failure = await get("http://127.0.0.1:\(port)/health", trusting: files.caPath) else {
                Issue.record("plain HTTP got an answer from the HTTPS port")
                return
            }
        }
    }

    @Test func aCertificateForOtherNamesOrAnExpiredOneIsRefused() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let elsewhere = try ServerTLSFiles.prepare(in: directory, names: ["allot.example"])
        try await serving(elsewhere) { port in
            guard case .failure(let refused) = await get("https://127.0.0.1:\(port)/health", trusting: elsewhere.caPath) else {
                Issue.record("a certificate for allot.example was taken for 127.0.0.1")
                return
            }
            #expect(refused.contains("CERTIFICATE_VERIFY_FAILED") || refused.contains("ostname"), "\(refused)")
        }
        // Issued two years ago for a year: over.
        let expired = try ServerTLSFiles.prepare(in: directory, names: ["127.0.0.1"], now: Date().addingTimeInterval(-2 * 365 * 86_400))
        try await serving(expired) { port in
            guard case .failure(let refused) = await get("https://127.0.0.1:\(port)/health", trusting: expired.caPath) else {
                Issue.record("an expired certificate was taken")
                return
            }
            #expect(refused.contains("CERTIFICATE_VERIFY_FAILED"), "\(refused)")
        }
    }

    @Test func aReloadServesTheNewCertificateToNewConnectionsAndABadPairKeepsTheOld() async throws {
        let first = try ServerTLSFiles.prepare(in: temporaryDirectory(), names: ["127.0.0.1"])
        let second = try ServerTLSFiles.prepare(in: temporaryDirectory(), names: ["127.0.0.1"])
        let served = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        defer { for directory in [first.directory, second.directory, served] { try? FileManager.default.removeItem(atPath: directory) } }
        @Sendable func install(certificate: String, key: String) throws {
            for (from, to) in [(certificate, served + "/cert.pem"), (key, served + "/key.pem")] {
                try? FileManager.default.removeItem(atPath: to)  // absent the first time
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
        }
        try install(certificate: first.certificatePath, key: first.keyPath)
        let certificate = try ServerCertificate(.files(certificate: served + "/cert.pem", key: served + "/key.pem"))
        try await serving(certificate) { port in
            let url = "https://127.0.0.1:\(port)/health"
            #expect(await get(url, trusting: first.caPath) == .success(200))
            #expect(await get(url, trusting: second.caPath) != .success(200))
            // Renewed on disk, then reloaded (what SIGHUP does): new connections get the second certificate.
            try install(certificate: second.certificatePath, key: second.keyPath)
            try certificate.reload()
            #expect(await get(url, trusting: second.caPath) == .success(200))
            #expect(await get(url, trusting: first.caPath) != .success(200))
            // A certificate with another's key is refused at the reload, and the second one is still served.
            try install(certificate: first.certificatePath, key: second.keyPath)
            #expect(throws: TLSSetupError.self) { try certificate.reload() }
            #expect(await get(url, trusting: second.caPath) == .success(200))
        }
    }

    /// What a client pinning only the fingerprint checks, on the chain a generated server certificate is served
    /// with (its own certificate, then the authority).
    @Test func aPinnedFingerprintAcceptsItsAuthoritysChainForTheRightNameOnly() async throws {
        let directory = temporaryDirectory()
        let stranger = temporaryDirectory()
        defer { for path in [directory, stranger] { try? FileManager.default.removeItem(atPath: path) } }
        func chain(_ files: ServerTLSFiles) throws -> [[UInt8]] {
            try (NIOSSLCertificate.fromPEMFile(files.certificatePath) + NIOSSLCertificate.fromPEMFile(files.caPath)).map { try $0.toDERBytes() }
        }
        let files = try ServerTLSFiles.prepare(in: directory, names: ["127.0.0.1", "allot.example"])
        let pinned = try PinnedAuthority(parsing: files.caFingerprint)
        #expect(await pinned.refusal(ofChain: try chain(files), host: "127.0.0.1") == nil)
        #expect(await pinned.refusal(ofChain: try chain(files), host: "allot.example") == nil)
        let otherName = await pinned.refusal(ofChain: try chain(files), host: "10.9.9.9")
        #expect(otherName?.contains("not for 10.9.9.9") == true, "\(otherName ?? "accepted")")
        // Only the server's own certificate: the authority is not there to match.
        let bare = await pinned.refusal(ofChain: [try chain(files)[0]], host: "127.0.0.1")
        #expect(bare?.contains("did not present the authority") == true, "\(bare ?? "accepted")")
        // Another cluster's chain, whole.
        let other = try ServerTLSFiles.prepare(in: stranger, names: ["127.0.0.1"])
        let foreign = await pinned.refusal(ofChain: try chain(other), host: "127.0.0.1")
        #expect(foreign?.contains("did not present the authority") == true, "\(foreign ?? "accepted")")
        // Another server certificate presented with this authority: it is not signed by it.
        let forged = await pinned.refusal(ofChain: [try chain(other)[0], try chain(files)[1]], host: "127.0.0.1")
        #expect(forged != nil)
        // Expired, from the same authority.
        let expired = try ServerTLSFiles.prepare(in: directory, names: ["127.0.0.1"], now: Date().addingTimeInterval(-2 * 365 * 86_400))
        let late = await pinned.refusal(ofChain: try chain(expired), host: "127.0.0.1")
        #expect(late?.contains("not valid now") == true, "\(late ?? "accepted")")
        // The fingerprint as openssl prints it is the same pin; a short one is not a fingerprint.
        let colons = stride(from: 0, to: 64, by: 2).map { index in
            let start = files.caFingerprint.index(files.caFingerprint.startIndex, offsetBy: index)
            return files.caFingerprint[start..<files.caFingerprint.index(start, offsetBy: 2)].uppercased()
        }
        #expect(try PinnedAuthority(parsing: "sha256 Fingerprint=" + colons.joined(separator: ":")) == pinned)
        #expect(throws: TLSSetupError.self) { try PinnedAuthority(parsing: "abcd") }
    }
}
