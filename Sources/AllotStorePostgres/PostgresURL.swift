import AllotStore
import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL store lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`
/// (`postgresql://` too). The password, when there is one, never appears in ``description``.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String, tls: TLSMode = .prefer) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Whether a `--store` value names PostgreSQL (and not a SQLite file).
    public static func names(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses a URL, saying what is wrong with it.
    public init(parsing text: String) throws(StoreError) {
        guard Self.names(text) else {
            throw StoreError(.database, "a PostgreSQL store is postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, not \(Self.redacted(text))")
        }
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw StoreError(.database, "\(Self.redacted(text)) is not a URL with a host: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StoreError(.database, "\(Self.redacted(text)) names no user: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreError(.database, "\(Self.redacted(text)) names no database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw StoreError(.database, "sslmode must be disable, prefer or require, not \(item.value ?? "nothing")")
                }
                tls = mode
            default:
                throw StoreError(.database, "unknown parameter \(item.name) in the store URL (known: sslmode)")
            }
        }
        self.init(
            host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host,
            port: components.port ?? 5432,
            user: components.user ?? user,
            password: components.password,
            database: database,
            tls: tls
        )
    }

    /// The same server with another database (for creating and dropping throwaway ones).
    public func with(database: String) -> PostgresURL {
        var copy = self
        copy.database = database
        return copy
    }

    public var description: String {
        let secret = password == nil ? "" : ":***"
        let query = tls == .prefer ? "" : "?sslmode=\(tls.rawValue)"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)\(secret)@\(shownHost):\(port)/\(database)\(query)"
    }

    /// The URL as text, with the password (a secret) in it.
    public var text: String {
        let user = self.user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? self.user
        let secret = password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? $0) } ?? ""
        let query = tls == .prefer ? "" : "?sslmode=\(tls.rawValue)"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)\(secret)@\(shownHost):\(port)/\(database)\(query)"
    }

    /// A URL as it may be shown: the password replaced.
    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "(the URL)"
    }

    var clientConfiguration: PostgresClient.Configuration {
        PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: clientTLS)
    }

    func connectionConfiguration() throws(StoreError) -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: try connectionTLS())
    }

    private var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    private func connectionTLS() throws(StoreError) -> PostgresConnection.Configuration.TLS {
        if tls == .disable { return .disable }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: .makeClientConfiguration())
        } catch {
            throw StoreError(.database, "cannot set up TLS to PostgreSQL: \(error)")
        }
        return tls == .require ? .require(context) : .prefer(context)
    }
}
