import AllotAPI
import AllotStore
import Crypto
import Foundation

/// The secrets that guard the API: an admin token for `/v1` and a join token for agents. They are random
/// (256 bits), shown once, and stored only as SHA-256 hashes; a presented token is hashed and compared in
/// constant time.
public struct Authenticator: Sendable {
    public enum Role: String, Sendable {
        case admin
        case agent
    }

    var adminHash: [UInt8]
    var agentHash: [UInt8]

    public init(adminToken: String, agentToken: String) {
        adminHash = Self.hash(adminToken)
        agentHash = Self.hash(agentToken)
    }

    init(adminHash: [UInt8], agentHash: [UInt8]) {
        self.adminHash = adminHash
        self.agentHash = agentHash
    }

    /// The role a bearer token grants, or `nil`.
    public func role(of token: String) -> Role? {
        let presented = Self.hash(token)
        if Self.equal(presented, adminHash) { return .admin }
        if Self.equal(presented, agentHash) { return .agent }
        return nil
    }

    /// A new random token: `allot_` and 64 hex digits (256 bits).
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return "allot_" + Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// Constant-time comparison of two digests.
    static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    static let adminKey = "auth.admin-token-sha256"
    static let agentKey = "auth.agent-token-sha256"

    /// The store's authenticator, creating tokens on first use. Newly created tokens are returned (to show once).
    public static func load(from store: any AllotStore) async throws(StoreError) -> (Authenticator, created: (admin: String, agent: String)?) {
        if let existing = try await existing(in: store) { return (existing, nil) }
        let admin = newToken()
        let agent = newToken()
        let authenticator = Authenticator(adminToken: admin, agentToken: agent)
        try await store.setSetting(adminKey, hex(authenticator.adminHash))
        try await store.setSetting(agentKey, hex(authenticator.agentHash))
        return (authenticator, (admin, agent))
    }

    /// The store's authenticator, or `nil` before the first server has created one; writes nothing (a follower).
    public static func existing(in store: any AllotStore) async throws(StoreError) -> Authenticator? {
        guard let admin = try await store.setting(adminKey), let agent = try await store.setting(agentKey),
            let adminHash = hexBytes(admin), let agentHash = hexBytes(agent)
        else { return nil }
        return Authenticator(adminHash: adminHash, agentHash: agentHash)
    }

    static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

    static func hexBytes(_ text: String) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
