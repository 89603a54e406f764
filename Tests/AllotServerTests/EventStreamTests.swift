import AllotAPI
import AllotStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AllotServer

struct EventStreamTests {
    /// An open event stream ends once its token is revoked, instead of delivering for ever.
    @Test func aStreamEndsWhenItsTokenIsRevoked() async throws {
        let store = MemoryStore()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration())
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: Authenticator.newToken(), agentToken: Authenticator.newToken()))
        try await directory.load()
        let root = Identity(actor: "test", role: .admin, tenant: "default", scope: nil)
        let token = try await directory.createToken(TokenRequest(name: "watcher", role: .member, tenant: "default"), by: root)
        let secret = try #require(token.secret)
        let app = try buildApplication(plane: plane, directory: directory, port: 0)
        try await app.test(.router) { client in
            let stream = Task {
                try await client.execute(uri: "/v1/events", method: .get, headers: [.authorization: "Bearer \(secret)"])
            }
            // Revoked once the stream is open (however slow the machine), so that it is the open stream that ends.
            let opening = ContinuousClock.now
            while plane.events.subscriberCount == 0, ContinuousClock.now - opening < .seconds(30) { try await Task.sleep(for: .milliseconds(20)) }
            _ = try await directory.revokeToken(token.id, by: root)
            let revoked = ContinuousClock.now
            let ended = Task {
                try await Task.sleep(for: .seconds(30))
                stream.cancel()
            }
            let response = try await stream.value
            ended.cancel()
            // Ended by the revocation (checked every second), not by the test giving up after thirty.
            #expect(ContinuousClock.now - revoked < .seconds(15))
            #expect(response.status == .ok)
            #expect(String(buffer: response.body).hasPrefix(": allot events"))
            // A new stream with the revoked token is refused outright.
            let again = try await client.execute(uri: "/v1/events", method: .get, headers: [.authorization: "Bearer \(secret)"])
            #expect(again.status == .unauthorized)
        }
    }
}
