import AllotAPI
import AllotStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AllotServer

/// What an agent's report costs the link: its body may come gzip-compressed, and an agent that already has its
/// directive (its digest in the report) gets a short answer instead of the whole set again.
@Suite struct AgentReportWireTests {
    func directive(_ buffer: ByteBuffer) throws -> AgentDirective {
        try JSONDecoder().decode(AgentDirective.self, from: Data(buffer.readableBytesView))
    }

    @Test func aCompressedReportIsTakenAndAnUnchangedDirectiveIsNotSentAgain() async throws {
        let store = MemoryStore()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration())
        let api = try await APIUnderTest(store)
        let app = try api.app(plane)
        let inventory = NodeInventory(name: "n1", cpu: NodeInventory.CPU(model: "test", logicalCores: 4), memoryBytes: 8 << 30)
        @Sendable func body(_ report: AgentReport) throws -> ByteBuffer { ByteBuffer(bytes: Gzip.compress(Array(try JSONEncoder().encode(report)))) }
        let headers: HTTPFields = [.authorization: "Bearer \(api.agent)", .contentType: "application/json", .contentEncoding: "gzip"]
        try await app.test(.router) { client in
            // Joins with a compressed report.
            let joined = try await client.execute(
                uri: "/v1/agent/report",
                method: .post,
                headers: headers,
                body: try body(AgentReport(node: "n1", inventory: inventory))
            )
            #expect(joined.status == .ok, "\(String(buffer: joined.body))")
            #expect(await plane.nodes["n1"]?.state == .ready)
            let submitted = try await client.execute(
                uri: "/v1/jobs",
                method: .post,
                headers: [.authorization: "Bearer \(api.admin)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"command":["sleep","60"],"requests":{"cpu":1}}"#)
            )
            #expect(submitted.status == .created || submitted.status == .ok, "\(String(buffer: submitted.body))")
            // Reports until the job's binding is durable and in the directive.
            var full = try directive(joined.body)
            for _ in 0..<100 where full.assignments.isEmpty {
                try await Task.sleep(for: .milliseconds(20))
                full = try directive(
                    try await client.execute(uri: "/v1/agent/report", method: .post, headers: headers, body: try body(AgentReport(node: "n1"))).body
                )
            }
            #expect(full.assignments.count == 1 && full.unchanged == nil)
            let digest = try #require(full.digest)

            // The same set again: a short answer, for a fraction of the bytes.
            var again = AgentReport(node: "n1")
            again.directiveDigest = digest
            let answer = try await client.execute(uri: "/v1/agent/report", method: .post, headers: headers, body: try body(again))
            let short = try directive(answer.body)
            #expect(short.unchanged == true && short.assignments.isEmpty && short.digest == digest && short.version == full.version)
            #expect(answer.body.readableBytes * 2 < (try JSONEncoder().encode(full)).count, "\(answer.body.readableBytes) bytes")
            // A stale digest gets the whole set.
            again.directiveDigest = "stale"
            let whole = try directive(try await client.execute(uri: "/v1/agent/report", method: .post, headers: headers, body: try body(again)).body)
            #expect(whole.assignments.count == 1 && whole.unchanged == nil)

            // A body that is not gzip, and an encoding not spoken, are refused plainly.
            let corrupt = try await client.execute(uri: "/v1/agent/report", method: .post, headers: headers, body: ByteBuffer(string: "not gzip"))
            #expect(corrupt.status == .badRequest && String(buffer: corrupt.body).contains("Content-Encoding"), "\(String(buffer: corrupt.body))")
            var brotli = headers
            brotli[.contentEncoding] = "br"
            let unknown = try await client.execute(uri: "/v1/agent/report", method: .post, headers: brotli, body: ByteBuffer(string: "{}"))
            #expect(unknown.status == .unsupportedMediaType)
        }
    }
}
