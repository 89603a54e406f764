import AllotClient
import ArgumentParser
import Foundation

/// `--server` and `--token` for commands that talk to a server; they default to `ALLOT_SERVER` / `ALLOT_TOKEN`,
/// then to the credentials `allot dev` saved (`~/.config/allot/credentials.json`), then to a local server.
public struct ClientOptions: ParsableArguments {
    @Option(
        help: "The server URL, or several servers' separated by commas (default: $ALLOT_SERVER, the saved credentials, or http://127.0.0.1:7070)."
    )
    public var server: String?

    @Option(help: "The API token (default: $ALLOT_TOKEN or the saved credentials).")
    public var token: String?

    @Option(
        help: ArgumentHelp(
            "The certificate authority (PEM) an https:// server's certificate must chain to, such as the server's tls/ca.pem (default: $ALLOT_CA, the saved credentials', or the system's authorities).",
            valueName: "file"
        )
    )
    public var ca: String?

    public init() {}

    struct Credentials: Codable {
        var server: String
        var token: String
        /// The authority the server's certificate chains to (an absolute path), when not the system's.
        var ca: String?
    }

    static var credentialsPath: String {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + "/.config/allot/credentials.json"
    }

    /// Saves credentials readable by the owner only (mode 0600). Without `ca`, the authority saved for the same
    /// server is kept.
    static func save(server: String, token: String, ca: String? = nil) throws {
        let path = credentialsPath
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // No saved credentials (or unreadable ones, which this replaces): no authority to keep.
        let saved = FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder().decode(Credentials.self, from: $0) }
        let authority = ca.map(absolutePath) ?? (saved?.server == server ? saved?.ca : nil)
        let data = try JSONEncoder().encode(Credentials(server: server, token: token, ca: authority))
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CommandFailure("cannot write \(path)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// The saved credentials' server when the token in use is the saved one (no `--token`, no `ALLOT_TOKEN`).
    func savedCredentialsInUse() throws -> String? {
        guard token == nil, ProcessInfo.processInfo.environment["ALLOT_TOKEN"] == nil,
            let data = FileManager.default.contents(atPath: Self.credentialsPath)
        else { return nil }
        return try JSONDecoder().decode(Credentials.self, from: data).server
    }

    public func client() throws -> AllotClient {
        let environment = ProcessInfo.processInfo.environment
        let saved = FileManager.default.contents(atPath: Self.credentialsPath).flatMap { try? JSONDecoder().decode(Credentials.self, from: $0) }
        let address = server ?? environment["ALLOT_SERVER"] ?? saved?.server ?? "http://127.0.0.1:7070"
        let urls: [URL]
        switch AllotClient.servers(address) {
        case .success(let parsed): urls = parsed
        case .failure(let error): throw ValidationError("--server: \(error)")
        }
        guard let token = token ?? environment["ALLOT_TOKEN"] ?? saved?.token else {
            throw ValidationError("--token: required (or set ALLOT_TOKEN, or run allot dev once to save credentials)")
        }
        return AllotClient(servers: urls, token: token, trust: Self.trust(ca: ca, saved: saved?.ca))
    }

    /// What `https://` servers must chain to: `--ca`, else `ALLOT_CA`, else the saved authority, else the system's.
    static func trust(ca: String?, saved: String? = nil) -> ClientTrust {
        let authority = ca ?? ProcessInfo.processInfo.environment["ALLOT_CA"].flatMap { $0.isEmpty ? nil : $0 } ?? saved
        return authority.map { .authority($0) } ?? .system
    }
}

/// `path` made absolute against the working directory (a saved path must not depend on where the CLI runs).
func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// Runs an async command body, turning client errors into plain messages.
func withClientErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ClientError {
        throw CommandFailure(error.description)
    }
}
