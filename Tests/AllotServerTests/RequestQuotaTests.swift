import AllotAPI
import AllotStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AllotServer

/// Each token's requests are limited on their own: the token past its quota gets `429` with `Retry-After`,
/// other tokens and the agents go on.
@Suite struct RequestQuotaTests {
    @Test func aBucketRefillsAtItsRate() {
        let quotas = RequestQuotas(rate: 2, burst: 3)
        let start = ContinuousClock.now
        for _ in 0..<3 { #expect(quotas.take("a", now: start) == nil) }
        let wait = quotas.take("a", now: start)
        #expect(wait != nil && abs(wait! - 0.5) < 1e-9)
        #expect(quotas.take("b", now: start) == nil)
        #expect(quotas.take("a", now: start + .milliseconds(600)) == nil)
        #expect(quotas.take("a", now: start + .milliseconds(600)) != nil)
        #expect(RequestQuotas(rate: 0, burst: 1).take("a") == nil)
    }

    @Test func aTokenPastItsQuotaIsSlowedAndNobodyElse() async throws {
        let store = MemoryStore()
        var configuration = ServerConfiguration()
        // One request back every 1,000 s: however slow the machine, the fourth is refused, and it is told to
        // wait more than 900 s even when the first three took a minute.
        configuration.tokenRequestsPerSecond = 0.001
        configuration.tokenRequestBurst = 3
        let plane = try await ControlPlane.start(store: store, configuration: configuration)
        let api = try await APIUnderTest(store)
        let (admin, agent) = (api.admin, api.agent)
        let root = try #require(await api.directory.identify(admin))
        let other = try #require(try await api.directory.createToken(TokenRequest(name: "other", role: .viewer), by: root).secret)
        let app = try api.app(plane)
        try await app.test(.router) { client in
            for _ in 0..<3 {
                #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(admin)"]).status == .ok)
            }
            let refused = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(admin)"])
            #expect(refused.status == .tooManyRequests)
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 900)
            #expect(String(buffer: refused.body).contains("too_many_requests"))
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(other)"]).status == .ok)
            for _ in 0..<10 {
                let report = try await client.execute(
                    uri: "/v1/agent/report",
                    method: .post,
                    headers: [.authorization: "Bearer \(agent)", .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"node":"n1","jobs":[],"output":[]}"#)
                )
                #expect(report.status == .ok)
            }
        }
    }
}
