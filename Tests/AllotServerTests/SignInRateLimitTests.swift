import AllotAPI
import AllotStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AllotServer

@Suite struct SignInRateLimitTests {
    @Test func failuresPerAddressAreCountedWithinTheWindow() {
        let failures = FailedSignIns(limit: 3, window: 60)
        for _ in 0..<2 { failures.record("10.0.0.1") }
        #expect(!failures.isBlocked("10.0.0.1"))
        failures.record("10.0.0.1")
        #expect(failures.isBlocked("10.0.0.1"))
        #expect(!failures.isBlocked("10.0.0.2"))
    }

    /// After 20 bad tokens from one address further bad ones get 429 until the window passes; valid tokens from
    /// the same address (the admin's, the agent's) still pass.
    @Test func guessingTokensIsStopped() async throws {
        let store = MemoryStore()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration())
        let admin = Authenticator.newToken()
        let agent = Authenticator.newToken()
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: admin, agentToken: agent))
        try await directory.load()
        let app = try buildApplication(plane: plane, directory: directory, port: 0)
        try await app.test(.router) { client in
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(admin)"]).status == .ok)
            for attempt in 0..<20 {
                let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer allot_guess\(attempt)"])
                #expect(response.status == .unauthorized)
            }
            let blocked = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer allot_guess-more"])
            #expect(blocked.status == .tooManyRequests)
            #expect(try await client.execute(uri: "/v1/jobs", method: .get).status == .tooManyRequests)
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(admin)"]).status == .ok)
            let report = try await client.execute(
                uri: "/v1/agent/report",
                method: .post,
                headers: [.authorization: "Bearer \(agent)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"node":"n1","jobs":[],"output":[]}"#)
            )
            #expect(report.status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    /// The console's sign-in form is limited the same way: after 20 bad tokens more get 429, a valid one signs in.
    @Test func theConsolesSignInIsLimitedToo() async throws {
        let store = MemoryStore()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration())
        let admin = Authenticator.newToken()
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: admin, agentToken: Authenticator.newToken()))
        try await directory.load()
        let app = try buildApplication(plane: plane, directory: directory, port: 0)
        try await app.test(.router) { client in
            func signIn(_ token: String) async throws -> HTTPResponse.Status {
                let console = WebConsoleTests()
                let form = try await console.signInForm(client)
                return try await client.execute(
                    uri: "/ui/sign-in",
                    method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded", .cookie: form.cookie],
                    body: ByteBuffer(string: "token=\(token)&csrf=\(form.value)")
                ).status
            }
            for attempt in 0..<20 {
                let status = try await signIn("allot_guess\(attempt)")
                #expect(status == .unauthorized)
            }
            let blocked = try await signIn("allot_guess-more")
            #expect(blocked == .tooManyRequests)
            let valid = try await signIn(admin)
            #expect(valid == .seeOther)
        }
    }
}
