import Foundation
import Synchronization

/// A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, `initdb` into a temporary directory,
/// `pg_ctl` on a free loopback port, password authentication for the user `allot`. Run as root, the server runs
/// as the `postgres` account (PostgreSQL refuses root). A watchdog process stops it and removes its directory
/// when the test process ends, however it ends.
public final class PostgresCluster: Sendable {
    public let port: Int
    public let directory: String
    public let user = "allot"
    public let password: String
    private let bin: String

    /// One server per test process, started on first use; each test makes its own database on it.
    public static func shared() throws -> PostgresCluster {
        try sharedCluster.withLock { cluster in
            if let cluster { return try cluster.get() }
            let started = Result { try PostgresCluster.start() }
            cluster = started
            return try started.get()
        }
    }

    private static let sharedCluster = Mutex<Result<PostgresCluster, any Error>?>(nil)

    /// The directory of the newest installed PostgreSQL's binaries, if any.
    public static var binDirectory: String? {
        let root = "/usr/lib/postgresql"
        // None installed: nil below.
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.last.map { "\(root)/\($0)/bin" }.flatMap { FileManager.default.fileExists(atPath: $0 + "/initdb") ? $0 : nil }
    }

    private init(port: Int, directory: String, password: String, bin: String) {
        self.port = port
        self.directory = directory
        self.password = password
        self.bin = bin
    }

    /// Starts a new server; throws with the tool's output when it cannot.
    public static func start() throws -> PostgresCluster {
        guard let bin = binDirectory else {
            throw TestSupportError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; Debian package postgresql)")
        }
        let directory = NSTemporaryDirectory() + "allot-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let password = UUID().uuidString
        try Data(password.utf8).write(to: URL(fileURLWithPath: directory + "/password"))
        let cluster = PostgresCluster(port: try freePort(), directory: directory, password: password, bin: bin)
        if getuid() == 0 { try cluster.shell("chown -R postgres:postgres '\(directory)'", asPostgres: false) }
        try cluster.shell(
            "'\(bin)/initdb' -D '\(directory)/data' -U allot --pwfile='\(directory)/password' --auth=scram-sha-256 -E UTF8 --no-sync",
            asPostgres: true
        )
        try cluster.watch()
        try cluster.shell(
            """
            '\(bin)/pg_ctl' -D '\(directory)/data' -l '\(directory)/server.log' -w -t 60 start \
            -o "-p \(cluster.port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=200"
            """,
            asPostgres: true
        )
        return cluster
    }

    /// `postgres://allot:PASSWORD@127.0.0.1:PORT/DATABASE`.
    public func url(database: String = "postgres") -> String {
        "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Creates an empty database with a fresh name and returns its URL.
    public func makeDatabase(prefix: String = "t") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        try psql("CREATE DATABASE \(name)")
        return url(database: name)
    }

    /// Runs SQL through `psql` (against the `postgres` database unless named) and returns what it printed
    /// (unaligned, tuples only); throws with psql's message when the SQL fails.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let escaped = sql.replacingOccurrences(of: "'", with: "'\\''")
        return try shell(
            "PGPASSWORD='\(password)' psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p \(port) -U \(user) -d \(database) -c '\(escaped)'",
            asPostgres: false
        )
    }

    /// The server's log so far (for a failing test's message).
    public var log: String { (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "" }  // no log yet: empty

    /// Stops the server at once (no checkpoint) and removes its files.
    public func stop() {
        // Best effort: the watchdog tries again when the process ends.
        _ = try? shell("kill -QUIT $(head -1 '\(directory)/data/postmaster.pid') 2>/dev/null; sleep 0.5; rm -rf '\(directory)'", asPostgres: false)
    }

    /// Starts a process that stops the server and removes its directory once this process is gone.
    private func watch() throws {
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = [
            "-c",
            """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            kill -QUIT $(head -1 '\(directory)/data/postmaster.pid') 2>/dev/null; sleep 1; rm -rf '\(directory)'
            """,
        ]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
    }

    /// Runs a shell command (as the `postgres` account when asked and this process is root); throws with its
    /// output when it fails. The command runs with no descriptor of this process's but its output: the server
    /// `pg_ctl` leaves running would otherwise hold the one Foundation watches for the command's exit.
    @discardableResult
    private func shell(_ command: String, asPostgres: Bool) throws -> String {
        let name = directory + "/command-\(UUID().uuidString.prefix(8))"
        let output = name + ".out"
        let script = """
            for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"; done
            \(command)
            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: name + ".sh"))
        defer { try? FileManager.default.removeItem(atPath: name + ".sh") }  // a leftover file in a throwaway directory is harmless
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        let line = "bash '\(name).sh' > '\(output)' 2>&1"
        if asPostgres && getuid() == 0 {
            process.arguments = ["-c", "runuser -u postgres -- /bin/sh -c \"$0\"", line]
        } else {
            process.arguments = ["-c", line]
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""  // no output file: nothing printed
        try? FileManager.default.removeItem(atPath: output)  // a leftover file in a throwaway directory is harmless
        guard process.terminationStatus == 0 else {
            throw TestSupportError("`\(command)` failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }
}
