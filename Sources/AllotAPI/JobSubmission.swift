import AllotCore

/// `POST /v1/jobs`: a command and the task fields of a tasks file (without `id`, which the server assigns).
///
/// ```json
/// {"command": ["sh", "-c", "python serve.py"], "name": "serve", "env": {"MODEL": "vla-7b"}, "maxAttempts": 3,
///  "tenant": "robotics", "priority": 5, "class": "standard",
///  "requests": {"cpu": 4, "memory": "16GiB", "gpus": 1, "gpuMemory": "20GiB"}, "estimate": 3600}
/// ```
public struct JobSubmission: Sendable, Equatable {
    public var name: String?
    public var command: [String]
    public var environment: [String: String]
    public var maxAttempts: Int
    /// The task fields; its `id` is replaced by the server's.
    public var task: TaskSpec
    /// Data staged onto the node before the command starts (`ALLOT_INPUT_0`, …).
    public var inputs: [JobInput]
    /// What its node falling silent means: requeued at once, or left alone for a while first.
    public var onDisconnect: DisconnectPolicy = .requeue

    public init(
        name: String? = nil,
        command: [String],
        environment: [String: String] = [:],
        maxAttempts: Int = 3,
        task: TaskSpec,
        inputs: [JobInput] = []
    ) {
        self.name = name
        self.command = command
        self.environment = environment
        self.maxAttempts = maxAttempts
        self.task = task
        self.inputs = inputs
    }

    static let keys: Set<String> = TaskFile.taskKeys.subtracting(["id"]).union(["command", "name", "env", "maxAttempts", "inputs", "onDisconnect"])

    /// Reads a submission, naming the field of any problem.
    public static func decode(_ value: JSONValue) throws(InputError) -> JobSubmission {
        let reader = try ObjectReader(value, path: "", allowed: keys)
        guard let commandValues = try reader.array("command"), !commandValues.isEmpty else {
            throw InputError(path: "command", "required: the program and its arguments, e.g. [\"sh\", \"-c\", \"echo hi\"]")
        }
        var command: [String] = []
        for (index, item) in commandValues.enumerated() {
            guard case .string(let text) = item else { throw InputError(path: "command[\(index)]", "expected a string, found \(item.kind)") }
            // A process's arguments end at a NUL: one inside would be cut off silently.
            guard !text.contains("\u{0}") else { throw InputError(path: "command[\(index)]", "must not contain a NUL character") }
            command.append(text)
        }
        guard !command[0].isEmpty else { throw InputError(path: "command[0]", "the program must not be empty") }
        var environment: [String: String] = [:]
        if reader.has("env") {
            guard case .object(let fields) = reader.fields["env"]! else { throw InputError(path: "env", "expected an object of name to value") }
            for (name, item) in fields {
                guard !name.isEmpty, !name.contains("="), case .string(let text) = item else {
                    throw InputError(path: "env.\(name)", "expected a string value and a name without '='")
                }
                guard !name.contains("\u{0}"), !text.contains("\u{0}") else {
                    throw InputError(path: "env.\(name)", "must not contain a NUL character (the variable would be cut off)")
                }
                environment[name] = text
            }
        }
        let maxAttempts = try reader.integer("maxAttempts") ?? 3
        guard (1...100).contains(maxAttempts) else {
            throw InputError(path: "maxAttempts", "invalid value \"\(maxAttempts)\": must be between 1 and 100")
        }
        let name = try reader.string("name")
        let onDisconnect = try reader.string("onDisconnect").map { text throws(InputError) in try DisconnectPolicy(parsing: text) } ?? .requeue
        var inputs: [JobInput] = []
        for (index, item) in (try reader.array("inputs") ?? []).enumerated() {
            switch item {
            case .string(let text): inputs.append(try JobInput.parse(text))
            case .object:
                let fields = try ObjectReader(item, path: "inputs[\(index)]", allowed: ["url", "bytes"])
                guard let url = try fields.string("url") else { throw InputError(path: "inputs[\(index)].url", "required") }
                inputs.append(try JobInput(checking: url, bytes: try fields.integer("bytes").map(Int64.init)))
            default: throw InputError(path: "inputs[\(index)]", "expected \"URL[:SIZE]\" or {\"url\", \"bytes\"}, found \(item.kind)")
            }
        }
        guard inputs.count <= JobInput.maxCount else { throw InputError(path: "inputs", "at most \(JobInput.maxCount) inputs a job") }
        var withID = reader.fields
        withID["id"] = .string("submission")
        let task = try TaskFile.decodeTask(try ObjectReader(.object(withID), path: "", allowed: keys.union(["id"])))
        var submission = JobSubmission(name: name, command: command, environment: environment, maxAttempts: maxAttempts, task: task, inputs: inputs)
        submission.onDisconnect = onDisconnect
        return submission
    }
}

/// A job as the API shows it: the record, plus, while it waits, why, its place in the queue and an estimated start.
public struct JobView: Codable, Equatable, Sendable {
    public var job: Job
    public var queuePosition: Int?
    public var estimatedStartAt: Double?
    /// What the autoscaler decided for this job while it waits (a machine bought for it, or why none).
    public var provisioning: String?

    public init(job: Job, queuePosition: Int? = nil, estimatedStartAt: Double? = nil, provisioning: String? = nil) {
        self.job = job
        self.queuePosition = queuePosition
        self.estimatedStartAt = estimatedStartAt
        self.provisioning = provisioning
    }
}

/// The error body of every failed API call: `{"error": {"code": "...", "message": "..."}}`.
public struct APIErrorBody: Codable, Equatable, Sendable {
    public struct Detail: Codable, Equatable, Sendable {
        public var code: ErrorCode
        public var message: String

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // A code this side does not know yet reads as `unknown`; the message still says what happened.
            code = ErrorCode(rawValue: try container.decode(String.self, forKey: .code)) ?? .unknown
            message = try container.decode(String.self, forKey: .message)
        }

        init(code: ErrorCode, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Detail

    public init(code: ErrorCode, message: String) { error = Detail(code: code, message: message) }
}
