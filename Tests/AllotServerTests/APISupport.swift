import AllotStore
import Hummingbird
import Testing

@testable import AllotServer

/// The HTTP API over a started control plane, as at a first start: the admin and join tokens made and loaded.
struct APIUnderTest {
    let directory: Directory
    let admin: String
    let agent: String

    init(_ store: any AllotStore) async throws {
        let (bootstrap, created) = try await Authenticator.load(from: store)
        admin = try #require(created?.admin)
        agent = try #require(created?.agent)
        directory = Directory(store: store, bootstrap: bootstrap)
        try await directory.load()
    }

    func app(_ plane: ControlPlane) throws -> some ApplicationProtocol { try buildApplication(plane: plane, directory: directory, port: 0) }
}
