import AllotAPI
import AllotClient
import AllotCore
import ArgumentParser
import Foundation

/// What `allot submit` is asked, as plain values: read by ArgumentParser (``SubmitCommand``) or, in the plain
/// case, by ``FastArguments`` (``init(fast:)``), and run the same way.
public struct SubmitRequest: FastCommand, Equatable {
    public var cpu: String?
    public var memory: String?
    public var gpus: Int?
    public var gpuMemory: String?
    public var gpuModel: String?
    public var priority: Int?
    public var tenant: String?
    public var slaClass: String?
    public var gang: Int?
    public var estimate: Double?
    public var preemptible = false
    public var name: String?
    public var environment: [String] = []
    public var maxAttempts: Int?
    public var onDisconnect: String?
    public var inputs: [String] = []
    public var command: [String] = []
    public var client = ClientSettings()
    public var output = OutputFormat.table

    public func validate() throws {
        guard !command.isEmpty else { throw ValidationError("a command is required after --, e.g. allot submit -- sh -c 'echo hi'") }
        for item in environment where !item.contains("=") { throw ValidationError("--env: invalid value \"\(item)\": expected NAME=VALUE") }
        if let onDisconnect {
            do { _ = try DisconnectPolicy(parsing: onDisconnect) } catch { throw ValidationError("--on-disconnect: \(error.message)") }
        }
    }

    /// The submission document the server receives (fields not given are left out).
    struct Document: Encodable {
        struct Requests: Encodable {
            var cpu: String?
            var memory: String?
            var gpus: Int?
            var gpuMemory: String?
            var gpuModel: String?
        }
        var command: [String]
        var requests: Requests
        var priority: Int?
        var tenant: String?
        var slaClass: String?
        var gang: Int?
        var estimate: Double?
        var preemptible: Bool?
        var name: String?
        var maxAttempts: Int?
        var onDisconnect: String?
        var inputs: [String]?
        var env: [String: String]?

        enum CodingKeys: String, CodingKey {
            case command, requests, priority, tenant
            case slaClass = "class"
            case gang, estimate, preemptible, name, maxAttempts, onDisconnect
            case inputs, env
        }
    }

    var document: Document {
        Document(
            command: command,
            requests: Document.Requests(cpu: cpu, memory: memory, gpus: gpus, gpuMemory: gpuMemory, gpuModel: gpuModel),
            priority: priority,
            tenant: tenant,
            slaClass: slaClass,
            gang: gang,
            estimate: estimate,
            preemptible: preemptible ? true : nil,
            name: name,
            maxAttempts: maxAttempts,
            onDisconnect: onDisconnect,
            inputs: inputs.isEmpty ? nil : inputs,
            env: environment.isEmpty
                ? nil
                : Dictionary(
                    environment.map { item in
                        let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                        return (parts[0], parts.count > 1 ? parts[1] : "")
                    },
                    uniquingKeysWith: { _, last in last }
                )
        )
    }

    /// The body sent: the document as JSON, keys sorted.
    public func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(document)
    }

    /// What is printed of the answer without `--output json`.
    struct Submitted: Decodable {
        var id: String
    }

    public func run() async throws {
        let body = try body()
        let client = try client.client()
        if output == .json {
            let job = try await withClientErrors { try await client.submit(body: body) }
            print(try JSONOutput.render(job))
        } else {
            let job = try await withClientErrors { try await client.submit(body: body, answer: Submitted.self) }
            print("submitted \(job.id)")
        }
    }
}

extension SubmitRequest {
    public static let grammar = FastArguments.Grammar(
        valued: [
            "cpu", "memory", "gpus", "gpu-memory", "gpu-model", "priority", "tenant", "class", "gang", "estimate", "name",
            "max-attempts", "on-disconnect",
        ] + FastArguments.Grammar.client + FastArguments.Grammar.output,
        repeatable: ["env", "input"],
        flags: ["preemptible"],
        rest: true
    )

    /// `allot submit`'s arguments read by ``FastArguments``; `nil` when they must go through ArgumentParser.
    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar),
            let output = parsed.output,
            let gpus = parsed.typed("gpus", { Int($0) }), let priority = parsed.typed("priority", { Int($0) }),
            let gang = parsed.typed("gang", { Int($0) }), let estimate = parsed.typed("estimate", { Double($0) }),
            let maxAttempts = parsed.typed("max-attempts", { Int($0) })
        else { return nil }
        cpu = parsed.value("cpu")
        memory = parsed.value("memory")
        self.gpus = gpus
        gpuMemory = parsed.value("gpu-memory")
        gpuModel = parsed.value("gpu-model")
        self.priority = priority
        tenant = parsed.value("tenant")
        slaClass = parsed.value("class")
        self.gang = gang
        self.estimate = estimate
        preemptible = parsed.flag("preemptible")
        name = parsed.value("name")
        environment = parsed.all("env")
        self.maxAttempts = maxAttempts
        onDisconnect = parsed.value("on-disconnect")
        inputs = parsed.all("input")
        command = parsed.terminated
        client = ClientSettings(fast: parsed)
        self.output = output
    }
}
