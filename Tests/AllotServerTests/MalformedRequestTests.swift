import AllotAPI
import AllotStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AllotServer

/// Over a real socket: a request the HTTP parser refuses gets the API's error body (before: `400` with an
/// empty body for a 100 KiB `Authorization` header), and a duplicate key in a job is `422` naming it.
@Suite struct MalformedRequestTests {
    @Test func aHugeHeaderGets431WithAnErrorBody() async throws {
        let store = MemoryStore()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration())
        let api = try await APIUnderTest(store)
        let admin = api.admin
        let app = try api.app(plane)
        try await app.test(.live) { client in
            let huge = "Bearer " + String(repeating: "x", count: 100 << 10)
            let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: huge])
            #expect(response.status == .requestHeaderFieldsTooLarge)
            let body = try JSONDecoder().decode(APIErrorBody.self, from: Data(response.body.readableBytesView))
            #expect(body.error.code == .badRequest && body.error.message.contains("header is too large"))
        }
        try await app.test(.live) { client in
            let duplicate = try await client.execute(
                uri: "/v1/jobs",
                method: .post,
                headers: [.authorization: "Bearer \(admin)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"command":["true"],"requests":{"cpu":"1","cpu":"64"}}"#)
            )
            #expect(duplicate.status == .unprocessableContent)
            let body = try JSONDecoder().decode(APIErrorBody.self, from: Data(duplicate.body.readableBytesView))
            #expect(body.error.message == "requests.cpu: duplicate key")
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(admin)"]).status == .ok)
        }
    }
}
