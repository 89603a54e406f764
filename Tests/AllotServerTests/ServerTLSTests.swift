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
        let store = MemoryStore()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration())
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: Authenticator.newToken(), agentToken: Authenticator.newToken()))
        try await directory.load()
        let tls = try TLSConfigurations.server(certificatePath: files.certificatePath, keyPath: files.keyPath)
        let app = try buildApplication(plane: plane, directory: directory, port: 0, tls: tls)
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
}
