import AllotAWS
import AllotCloud
import AllotTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// moto's server (PyPI `moto[server]`) on a free loopback port: EC2's Query API, really spoken, offline.
final class MotoServer: Sendable {
    let process: LiveProcess
    let url: String

    init(directory: String) async throws {
        let port = try freePort()
        process = try LiveProcess(
            executable: "/usr/bin/env",
            arguments: ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "\(port)"],
            directory: directory
        )
        url = "http://127.0.0.1:\(port)"
        let deadline = Date().addingTimeInterval(30)
        while true {
            do {
                _ = try await provider(attempts: 1).instances(region: "us-east-1", ids: ["i-00000000000000000"])
                return
            } catch let error where error.code.hasPrefix("InvalidInstanceID") {
                return
            } catch {
                guard process.process.isRunning, Date() < deadline else {
                    throw LiveError("moto's server did not answer on \(url) (install moto[server]): \(error)\n\(process.output)")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// What a server or CLI needs in its environment to talk to this endpoint.
    var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": url]
    }

    func provider(attempts: Int = 4) -> EC2Provider {
        EC2Provider(
            client: EC2Client(
                credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"),
                endpoint: EC2Endpoint(override: URL(string: url)!),
                attempts: attempts
            )
        )
    }

    /// Every instance in the region, in any state.
    func instances(region: String = "us-east-1") async throws -> [CloudInstance] {
        try await provider().instances(region: region, tagged: [:])
    }

    func stop() { process.terminate(within: 5) }
}
