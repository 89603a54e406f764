import AllotAPI
import AllotStoreSQLite
import Foundation
import Testing

@testable import AllotServer

@Suite struct TokenStorageTests {
    /// Issued tokens reach the database only as SHA-256 digests: the secret is in no byte of the database or
    /// its write-ahead log, and it still signs in after a restart, until it is revoked.
    @Test func theDatabaseHoldsNoTokenInPlainText() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("allot.sqlite").path
        let store = try SQLiteStore(path: path)
        let (bootstrap, created) = try await Authenticator.load(from: store)
        let admin = try #require(created?.admin)
        let access = Directory(store: store, bootstrap: bootstrap)
        try await access.load()
        let root = try #require(await access.identify(admin))
        _ = try await access.createTenant(TenantRequest(name: "acme"), by: root)
        let issued = try await access.createToken(TokenRequest(name: "ci", role: .member, tenant: "acme", expiresInSeconds: 3600), by: root)
        let secret = try #require(issued.secret)
        #expect(secret.count == 6 + 64)
        let member = try #require(await access.identify(secret))
        #expect(member.role == .member && member.tenant == "acme" && member.scope == ["acme"])
        // Listing never shows a secret again.
        #expect(await access.tokens(visibleTo: root).allSatisfy { $0.secret == nil })

        var bytes = Data()
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            bytes.append(try Data(contentsOf: directory.appendingPathComponent(file)))
        }
        for plain in [secret, admin, String(secret.dropFirst(6))] {
            #expect(bytes.range(of: Data(plain.utf8)) == nil, "a token is stored in plain text")
        }
        #expect(bytes.range(of: Data(Authenticator.hex(Authenticator.hash(secret)).utf8)) != nil)

        // After a restart the digest still recognises the token; after revocation it does not.
        let reopened = Directory(store: try SQLiteStore(path: path), bootstrap: bootstrap)
        try await reopened.load()
        #expect(await reopened.identify(secret)?.actor == issued.id)
        _ = try await reopened.revokeToken(issued.id, by: root)
        #expect(await reopened.identify(secret) == nil)
        #expect(await reopened.identify("allot_" + String(repeating: "0", count: 64)) == nil)
    }
}
