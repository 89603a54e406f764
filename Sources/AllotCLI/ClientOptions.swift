import AllotClient
import AllotTLS
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

    @Option(
        name: .customLong("ca-fingerprint"),
        help: ArgumentHelp(
            "Instead of --ca: the SHA-256 fingerprint of the authority, as `allot server` prints it; the server must present that authority (default: $ALLOT_CA_FINGERPRINT, or the saved credentials').",
            valueName: "sha256"
        )
    )
    public var caFingerprint: String?

    public init() {}

    struct Credentials: Codable {
        var server: String
        var token: String
        /// The authority the server's certificate chains to (an absolute path), when not the system's.
        var ca: String?
        /// Or that authority's SHA-256 fingerprint.
        var caFingerprint: String?
    }

    public static var credentialsPath: String {
        let home = environmentValue("HOME") ?? NSHomeDirectory()
        return home + "/.config/allot/credentials.json"
    }

    /// Saves credentials readable by the owner only (mode 0600). Without `ca` or `caFingerprint`, the pin saved
    /// for the same server is kept.
    public static func save(server: String, token: String, ca: String? = nil, caFingerprint: String? = nil) throws {
        let path = credentialsPath
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // No saved credentials (or unreadable ones, which this replaces): no pin to keep.
        let saved = savedCredentials()
        let keep = ca == nil && caFingerprint == nil && saved?.server == server
        let credentials = Credentials(
            server: server,
            token: token,
            ca: keep ? saved?.ca : ca.map(absolutePath),
            caFingerprint: keep ? saved?.caFingerprint : caFingerprint
        )
        let data = try JSONEncoder().encode(credentials)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CommandFailure("cannot write \(path)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// The saved credentials; `nil` when there are none or they cannot be read (then they count as none).
    static func savedCredentials() -> Credentials? {
        FileManager.default.contents(atPath: credentialsPath).flatMap { try? JSONDecoder().decode(Credentials.self, from: $0) }
    }

    /// The values given, as plain data.
    public var settings: ClientSettings { ClientSettings(server: server, token: token, ca: ca, caFingerprint: caFingerprint) }

    /// The saved credentials' server when the token in use is the saved one (no `--token`, no `ALLOT_TOKEN`).
    public func savedCredentialsInUse() throws -> String? { try settings.savedCredentialsInUse() }

    public func client() throws -> AllotClient { try settings.client() }

    /// What `https://` servers must chain to: `--ca` or `--ca-fingerprint`, else `ALLOT_CA` or
    /// `ALLOT_CA_FINGERPRINT`, else the saved pin, else the system's authorities.
    public static func trust(ca: String?, fingerprint: String?, saved: (ca: String?, fingerprint: String?)? = nil) throws -> ClientTrust {
        func nonEmpty(_ name: String) -> String? { environmentValue(name).flatMap { $0.isEmpty ? nil : $0 } }
        let pins: [(ca: String?, fingerprint: String?, from: String)] = [
            (ca, fingerprint, "--ca and --ca-fingerprint"),
            (nonEmpty("ALLOT_CA"), nonEmpty("ALLOT_CA_FINGERPRINT"), "ALLOT_CA and ALLOT_CA_FINGERPRINT"),
            (saved?.ca, saved?.fingerprint, "the saved credentials' ca and caFingerprint"),
        ]
        guard let pin = pins.first(where: { $0.ca != nil || $0.fingerprint != nil }) else { return .system }
        if pin.ca != nil && pin.fingerprint != nil { throw ValidationError("\(pin.from): give one of them") }
        if let path = pin.ca { return .authority(path) }
        do {
            return .fingerprint(try PinnedAuthority(parsing: pin.fingerprint ?? ""))
        } catch {
            throw ValidationError("--ca-fingerprint: \(error)")
        }
    }
}

/// `--server`, `--token`, `--ca` and `--ca-fingerprint` as plain values (see ``ClientOptions``).
public struct ClientSettings: Equatable, Sendable {
    public var server: String?
    public var token: String?
    public var ca: String?
    public var caFingerprint: String?

    public init(server: String? = nil, token: String? = nil, ca: String? = nil, caFingerprint: String? = nil) {
        self.server = server
        self.token = token
        self.ca = ca
        self.caFingerprint = caFingerprint
    }

    /// The saved credentials' server when the token in use is the saved one (no `--token`, no `ALLOT_TOKEN`).
    public func savedCredentialsInUse() throws -> String? {
        guard token == nil, environmentValue("ALLOT_TOKEN") == nil,
            let data = FileManager.default.contents(atPath: ClientOptions.credentialsPath)
        else { return nil }
        return try JSONDecoder().decode(ClientOptions.Credentials.self, from: data).server
    }

    /// A client of the server given (calls made over a socket of their own: see ``AllotClient``'s `oneShot`).
    public func client() throws -> AllotClient {
        let given = (server: server ?? environmentValue("ALLOT_SERVER"), token: token ?? environmentValue("ALLOT_TOKEN"))
        // The saved credentials, unless the server and token are given and the server is plain HTTP (their
        // authority pin is for https:// servers).
        let needed = given.server == nil || given.token == nil || given.server?.contains("https://") == true
        let saved = needed ? ClientOptions.savedCredentials() : nil
        let address = given.server ?? saved?.server ?? "http://127.0.0.1:7070"
        let urls: [URL]
        switch AllotClient.servers(address) {
        case .success(let parsed): urls = parsed
        case .failure(let error): throw ValidationError("--server: \(error)")
        }
        guard let token = given.token ?? saved?.token else {
            throw ValidationError("--token: required (or set ALLOT_TOKEN, or run allot dev once to save credentials)")
        }
        let trust = try ClientOptions.trust(ca: ca, fingerprint: caFingerprint, saved: saved.map { ($0.ca, $0.caFingerprint) })
        return AllotClient(servers: urls, token: token, trust: trust, oneShot: true)
    }
}

/// An environment variable, read alone (`ProcessInfo`'s `environment` copies them all into a dictionary first).
func environmentValue(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

/// `path` made absolute against the working directory (a saved path must not depend on where the CLI runs).
public func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// Runs an async command body, turning client errors into plain messages.
public func withClientErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ClientError {
        throw CommandFailure(error.description)
    }
}
