import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import AllotTLS
import ArgumentParser
import Foundation

/// `allot login --server URL --token T`: checks the token and saves it for the CLI (mode 0600).
public struct LoginCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "login", abstract: "Check a token and save it for the CLI.")

    @Option(help: "The server URL.") public var server: String
    @Option(help: "The API token.") public var token: String
    @Option(help: ArgumentHelp("The certificate authority (PEM) of an https:// server, saved with the token.", valueName: "file"))
    public var ca: String?
    @Option(
        name: .customLong("ca-fingerprint"),
        help: ArgumentHelp(
            "Instead of --ca: the authority's SHA-256 fingerprint, as the server prints it; saved with the token.",
            valueName: "sha256"
        )
    )
    public var caFingerprint: String?

    public init() {}

    public func run() async throws {
        var options = ClientOptions()
        options.server = server
        options.token = token
        options.ca = ca
        options.caFingerprint = caFingerprint
        let client = try options.client()
        let tenants = try await withClientErrors { try await client.tenants() }
        try ClientOptions.save(
            server: server,
            token: token,
            ca: ca,
            caFingerprint: caFingerprint.map { try PinnedAuthority(parsing: $0).fingerprint }
        )
        print("signed in to \(server); tenants visible: \(tenants.map(\.name).joined(separator: ", "))")
    }
}

/// `allot tenant create|list|set-quota`.
public struct TenantCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create tenants and set their fair-share weights and quotas.",
        subcommands: [Create.self, List.self, SetQuota.self]
    )

    public init() {}

    public struct Create: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a tenant.")
        @Argument(help: "The tenant's name.") public var name: String
        @Option(help: "The enclosing tenant.") public var parent: String?
        @Option(help: "Fair-share weight.") public var weight: Double?
        @Option(help: "Guaranteed amounts, e.g. cpu=8,memory=64GiB,gpus=2,gpus.A100=2,gpu-memory=40GiB.") public var guaranteed: String?
        @Option(help: "Limit it may borrow up to, same form.") public var limit: String?
        @OptionGroup public var client: ClientOptions
        @OptionGroup public var output: OutputOptions
        public init() {}

        public func run() async throws {
            let request = TenantRequest(
                name: name,
                parent: parent,
                weight: weight,
                guaranteed: try guaranteed.map { try parseQuota($0, option: "--guaranteed") },
                limit: try limit.map { try parseQuota($0, option: "--limit") }
            )
            let tenant = try await withClientErrors { try await client.client().createTenant(request) }
            print(output.output == .json ? try JSONOutput.render(tenant) : "created tenant \(tenant.name)")
        }
    }

    public struct List: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "list", abstract: "List the tenants you can see.")
        @OptionGroup public var client: ClientOptions
        @OptionGroup public var output: OutputOptions
        public init() {}

        public func run() async throws {
            let tenants = try await withClientErrors { try await client.client().tenants() }
            if output.output == .json { return print(try JSONOutput.render(tenants)) }
            var table = TextTable(["NAME", "PARENT", "WEIGHT", "GUARANTEED", "LIMIT"])
            for tenant in tenants {
                table.add([tenant.name, tenant.parent ?? "-", Quantity.format(tenant.weight), describe(tenant.guaranteed), describe(tenant.limit)])
            }
            print(table.render())
        }
    }

    public struct SetQuota: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "set-quota", abstract: "Change a tenant's weight, guarantee or limit.")
        @Argument(help: "The tenant's name.") public var name: String
        @Option(help: "Fair-share weight.") public var weight: Double?
        @Option(help: "Guaranteed amounts, e.g. cpu=8,memory=64GiB,gpus=2.") public var guaranteed: String?
        @Option(help: "Limit, same form.") public var limit: String?
        @OptionGroup public var client: ClientOptions
        @OptionGroup public var output: OutputOptions
        public init() {}

        public func validate() throws {
            if weight == nil && guaranteed == nil && limit == nil { throw ValidationError("give --weight, --guaranteed or --limit") }
        }

        public func run() async throws {
            let request = TenantRequest(
                weight: weight,
                guaranteed: try guaranteed.map { try parseQuota($0, option: "--guaranteed") },
                limit: try limit.map { try parseQuota($0, option: "--limit") }
            )
            let tenant = try await withClientErrors { try await client.client().updateTenant(name, request) }
            print(output.output == .json ? try JSONOutput.render(tenant) : "updated tenant \(tenant.name): limit \(describe(tenant.limit))")
        }
    }
}

/// `allot token create|list|rotate|rotate-admin|revoke`.

/// Prints a rotated token: its secret is shown only now.
func show(_ token: TokenView, replacing id: String, output: OutputFormat) throws {
    if output == .json { return print(try JSONOutput.render(token)) }
    print("\(id) revoked; its replacement \(token.id) (\(token.role.rawValue) in \(token.tenant)) has a secret shown only now:")
    print(token.secret ?? "")
}

public struct TokenCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list, rotate and revoke API tokens.",
        subcommands: [Create.self, List.self, Rotate.self, RotateAdmin.self, RotateJoin.self, Revoke.self]
    )

    public init() {}

    public struct Create: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token; its secret is shown once.")
        @Option(help: "A name for it.") public var name: String?
        @Option(help: "admin, tenant-admin, member or viewer.") public var role: String = "member"
        @Option(help: "Its tenant (your own when absent).") public var tenant: String?
        @Option(help: "Seconds until it expires.") public var expiresIn: Double?
        @OptionGroup public var client: ClientOptions
        @OptionGroup public var output: OutputOptions
        public init() {}

        public func run() async throws {
            guard let parsed = Role(rawValue: role) else {
                throw ValidationError("--role: invalid value \"\(role)\" (use \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let request = TokenRequest(name: name, role: parsed, tenant: tenant, expiresInSeconds: expiresIn)
            let token = try await withClientErrors { try await client.client().createToken(request) }
            if output.output == .json { return print(try JSONOutput.render(token)) }
            print("created \(token.id) (\(token.role.rawValue) in \(token.tenant)); the secret is shown only now:")
            print(token.secret ?? "")
        }
    }

    public struct List: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their secrets).")
        @OptionGroup public var client: ClientOptions
        @OptionGroup public var output: OutputOptions
        public init() {}

        public func run() async throws {
            let tokens = try await withClientErrors { try await client.client().tokens() }
            if output.output == .json { return print(try JSONOutput.render(tokens)) }
            var table = TextTable(["ID", "NAME", "ROLE", "TENANT", "STATE"])
            for token in tokens {
                let state =
                    token.revokedAt != nil ? "revoked" : token.expiresAt.map { $0 <= Date().timeIntervalSince1970 ? "expired" : "active" } ?? "active"
                table.add([token.id, token.name, token.role.rawValue, token.tenant, state])
            }
            print(table.render())
        }
    }

    public struct Rotate: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Replace a token with a new secret (same name, role, tenant and lifetime) and revoke it."
        )
        @Argument(help: "The token id (tok-...), or self for the one you use.") public var id: String
        @OptionGroup public var client: ClientOptions
        @OptionGroup public var output: OutputOptions
        public init() {}

        public func run() async throws {
            let token = try await withClientErrors { try await client.client().rotateToken(id) }
            try show(token, replacing: id, output: output.output)
        }
    }

    public struct RotateAdmin: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "rotate-admin",
            abstract: "Replace the admin token you use (the first start's, or another admin token) and revoke it; saves the new one for the CLI."
        )
        @OptionGroup public var client: ClientOptions
        @OptionGroup public var output: OutputOptions
        public init() {}

        public func run() async throws {
            let token = try await withClientErrors { try await client.client().rotateToken("self", requiring: .admin) }
            try show(token, replacing: "self", output: output.output)
            if let secret = token.secret, let server = try client.savedCredentialsInUse() {
                try ClientOptions.save(server: server, token: secret)
                if output.output != .json { print("saved for the CLI in \(ClientOptions.credentialsPath)") }
            }
        }
    }

    public struct RotateJoin: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "rotate-join",
            abstract:
                "Replace the agent join token (shown once): agents holding their own certificates go on; new machines, and agents without one, need the new token."
        )
        @OptionGroup public var client: ClientOptions
        @OptionGroup public var output: OutputOptions
        public init() {}

        public func run() async throws {
            let rotation = try await withClientErrors { try await client.client().rotateJoinToken() }
            if output.output == .json { return print(try JSONOutput.render(rotation)) }
            print("agent join token: \(rotation.secret) (shown once; the old one no longer works)")
        }
    }

    public struct Revoke: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token at once.")
        @Argument(help: "The token id (tok-...).") public var id: String
        @OptionGroup public var client: ClientOptions
        public init() {}

        public func run() async throws {
            let token = try await withClientErrors { try await client.client().revokeToken(id) }
            print("revoked \(token.id)")
        }
    }
}

/// `allot audit`: the mutating calls of the tenants you administer, oldest first.
public struct AuditCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "audit", abstract: "Show the audit log.")
    @Option(help: "Only entries after this sequence number.") public var after: Int64?
    @Option(help: "At most this many (without it, every entry).") public var limit: Int?
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions
    public init() {}

    public func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit: must be at least 1") }
    }

    public func run() async throws {
        let entries = try await withClientErrors { try await client.client().allAudit(after: after, limit: limit) }
        if output.output == .json { return print(try JSONOutput.render(entries)) }
        var table = TextTable(["SEQ", "TIME", "ACTOR", "ROLE", "TENANT", "ACTION", "TARGET", "STATUS"])
        for entry in entries {
            let time = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: entry.at))
            table.add([String(entry.sequence), time, entry.actor, entry.role, entry.tenant, entry.action, entry.target ?? "-", String(entry.status)])
        }
        print(table.render())
    }
}

/// `cpu=8,memory=64GiB,gpus=2,gpus.A100=2,gpu-memory=40GiB`.
func parseQuota(_ text: String, option: String) throws -> ResourceQuota {
    var quota = ResourceQuota()
    for item in text.split(separator: ",") {
        let parts = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else { throw ValidationError("\(option): \"\(item)\" is not KEY=VALUE") }
        do {
            switch parts[0] {
            case "cpu": quota.cpu = Double(try Quantity.cpuMillis(parts[1], field: "cpu")) / 1000
            case "memory": quota.memoryBytes = try Quantity.bytes(parts[1], field: "memory")
            case "gpus": quota.gpus = Int(try Quantity.count(parts[1], field: "gpus"))
            case "gpu-memory": quota.gpuMemoryBytes = try Quantity.bytes(parts[1], field: "gpu-memory")
            case let key where key.hasPrefix("gpus."):
                quota.gpusByModel = (quota.gpusByModel ?? [:]).merging([String(key.dropFirst(5)): Int(try Quantity.count(parts[1], field: key))]) {
                    $1
                }
            default: throw ValidationError("\(option): unknown key \"\(parts[0])\" (use cpu, memory, gpus, gpus.MODEL, gpu-memory)")
            }
        } catch let error as QuantityError {
            throw ValidationError("\(option): invalid value \"\(error.value)\" for \(error.field): \(error.reason)")
        }
    }
    return quota
}

func describe(_ quota: ResourceQuota?) -> String {
    guard let quota else { return "-" }
    var parts: [String] = []
    if let cpu = quota.cpu { parts.append("cpu=\(Quantity.format(cpu))") }
    if let memory = quota.memoryBytes { parts.append("memory=\(Quantity.formatBytes(memory))") }
    if let gpus = quota.gpus { parts.append("gpus=\(gpus)") }
    for (model, count) in (quota.gpusByModel ?? [:]).sorted(by: { $0.key < $1.key }) { parts.append("gpus.\(model)=\(count)") }
    if let memory = quota.gpuMemoryBytes { parts.append("gpu-memory=\(Quantity.formatBytes(memory))") }
    return parts.isEmpty ? "-" : parts.joined(separator: ",")
}
