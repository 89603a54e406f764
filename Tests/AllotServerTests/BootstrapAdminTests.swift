import AllotAPI
import AllotStore
import Testing

@testable import AllotServer

/// The admin token of the first start is a token like any other: listed, revocable, rotatable. Before, it
/// was missing from the list and could not be revoked.
@Suite struct BootstrapAdminTests {
    @Test func theFirstAdminTokenIsListedAndRevocable() async throws {
        let store = MemoryStore()
        let (bootstrap, created) = try await Authenticator.load(from: store)
        let admin = try #require(created?.admin)
        let access = Directory(store: store, bootstrap: bootstrap)
        try await access.load()
        let root = try #require(await access.identify(admin))
        #expect(root.actor == Directory.bootstrapAdminID && root.role == .admin)
        let listed = await access.tokens(visibleTo: root).map(\.id)
        #expect(listed == [Directory.bootstrapAdminID])
        // A second admin revokes the first.
        let other = try await access.createToken(TokenRequest(name: "ops", role: .admin), by: root)
        let opsSecret = try #require(other.secret)
        let ops = try #require(await access.identify(opsSecret))
        _ = try await access.revokeToken(Directory.bootstrapAdminID, by: ops)
        #expect(await access.identify(admin) == nil)
        #expect(!(await access.stillValid(root)))
        // After a restart it stays revoked: it is not taken in again.
        let restarted = Directory(store: store, bootstrap: bootstrap)
        try await restarted.load()
        #expect(await restarted.identify(admin) == nil)
        #expect(await restarted.tokens(visibleTo: ops).count == 2)
    }

    /// `allot token rotate-admin`: the caller's admin token is replaced and revoked; a member's cannot be
    /// rotated as an admin token, but a member may rotate its own.
    @Test func rotatingReplacesTheSecretAndRevokesTheOldOne() async throws {
        let store = MemoryStore()
        let (bootstrap, created) = try await Authenticator.load(from: store)
        let admin = try #require(created?.admin)
        let access = Directory(store: store, bootstrap: bootstrap)
        try await access.load()
        let root = try #require(await access.identify(admin))
        let rotated = try await access.rotateToken("self", requiring: .admin, by: root)
        #expect(rotated.role == .admin && rotated.name == "bootstrap admin" && rotated.id != Directory.bootstrapAdminID)
        #expect(await access.identify(admin) == nil)
        let freshSecret = try #require(rotated.secret)
        let fresh = try #require(await access.identify(freshSecret))
        #expect(fresh.role == .admin)
        let member = try await access.createToken(TokenRequest(name: "ci", role: .member, expiresInSeconds: 600), by: fresh)
        let memberSecret = try #require(member.secret)
        let memberIdentity = try #require(await access.identify(memberSecret))
        await #expect(throws: APIError.self) { _ = try await access.rotateToken("self", requiring: .admin, by: memberIdentity) }
        let own = try await access.rotateToken("self", by: memberIdentity)
        #expect(own.role == .member && own.expiresAt != nil)
        #expect(await access.identify(memberSecret) == nil)
    }
}
