import AllotAPI
import AllotStore
import AllotStoreSQLite
import Foundation
import GRDB
import Testing

@Suite struct TenancyStoreTests {
    @Test(arguments: Backend.allCases) func tenantsRoundTripAndReplace(_ backend: Backend) async throws {
        let store = try await backend.make()
        let org = Tenant(name: "acme", weight: 2, limit: ResourceQuota(cpu: 64, gpus: 16, gpusByModel: ["A100": 8]), createdAt: 10)
        let team = Tenant(name: "acme-vision", parent: "acme", guaranteed: ResourceQuota(gpus: 4), createdAt: 11)
        try await store.saveTenant(team)
        try await store.saveTenant(org)
        #expect(try await store.tenants() == [org, team])
        var changed = org
        changed.weight = 3
        try await store.saveTenant(changed)
        #expect(try await store.tenants().first == changed)
    }

    @Test(arguments: Backend.allCases) func tokensKeepDigestsAndRevocation(_ backend: Backend) async throws {
        let store = try await backend.make()
        let first = APIToken(id: "tok-1", name: "ci", role: .member, tenant: "acme", secretHash: String(repeating: "a", count: 64), createdAt: 5)
        let second = APIToken(
            id: "tok-2",
            name: "ops",
            role: .admin,
            tenant: "acme",
            secretHash: String(repeating: "b", count: 64),
            createdAt: 6,
            expiresAt: 100
        )
        try await store.saveToken(second)
        try await store.saveToken(first)
        #expect(try await store.tokens() == [first, second])
        var revoked = first
        revoked.revokedAt = 50
        try await store.saveToken(revoked)
        #expect(try await store.tokens() == [revoked, second])
        #expect(!revoked.isActive(at: 60) && second.isActive(at: 99) && !second.isActive(at: 100))
    }

    @Test(arguments: Backend.allCases) func auditAppendsInOrderAndFiltersByTenant(_ backend: Backend) async throws {
        let store = try await backend.make()
        var stored: [AuditEntry] = []
        for (index, tenant) in ["a", "b", "a", "c"].enumerated() {
            let entry = AuditEntry(
                at: Double(index),
                actor: "tok-\(index)",
                role: "member",
                tenant: tenant,
                action: "POST /v1/jobs",
                target: "job-\(index)",
                status: 201
            )
            stored += try await store.appendAudit([entry])
        }
        #expect(stored.map(\.sequence) == [1, 2, 3, 4])
        #expect(try await store.audit(AuditQuery()) == stored)
        #expect(try await store.audit(AuditQuery(tenants: ["a", "c"])).map(\.sequence) == [1, 3, 4])
        #expect(try await store.audit(AuditQuery(afterSequence: 2, limit: 1)).map(\.sequence) == [3])
        #expect(try await store.audit(AuditQuery(tenants: [])).isEmpty)
    }

    /// The database itself refuses to change or drop audit entries.
    @Test func sqliteAuditLogIsAppendOnly() async throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path)
        _ = try await store.appendAudit([AuditEntry(at: 1, actor: "tok-1", role: "admin", tenant: "a", action: "DELETE /v1/jobs/{id}", status: 200)])
        let queue = try DatabaseQueue(path: path)
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "UPDATE audit SET tenant = 'x'") } }
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "DELETE FROM audit") } }
        #expect(try await store.audit(AuditQuery()).count == 1)
    }
}
