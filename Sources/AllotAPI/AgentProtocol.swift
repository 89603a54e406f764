import AllotCore

/// What an agent tells the server, every scan interval and whenever something changes.
public struct AgentReport: Codable, Equatable, Sendable {
    public struct JobStatus: Codable, Equatable, Sendable {
        public enum State: String, Codable, Sendable {
            /// Its inputs are being copied onto the node (`message` unused; progress in `stagedBytes`).
            case staging
            case running
            case exited
            /// The command could not be started (not found, not executable).
            case failedToStart = "failed-to-start"
            /// The agent lost track of it (it restarted and killed the orphaned process group).
            case lost
        }

        public var id: JobID
        public var attempt: Int
        /// Which replica of a gang (0 for a single task).
        public var replica: Int
        public var state: State
        public var exitCode: Int32?
        public var message: String?
        /// CPU time its group has used so far, in seconds (running jobs in a cgroup).
        public var cpuSeconds: Double?
        /// Memory its group uses now, in bytes (running jobs in a cgroup).
        public var memoryBytes: Int64?
        /// While staging: bytes copied, of `stagingBytes`.
        public var stagedBytes: Int64?
        public var stagingBytes: Int64?
        /// An exit the process came to by itself, no stop (a directive's, a cancel's, a fence's) sent before it:
        /// the server may take it even for an attempt it gave up on when the node went silent, instead of
        /// running the job again. Absent: unknown, never taken so.
        public var endedByItself: Bool?

        public init(
            id: JobID,
            attempt: Int,
            replica: Int = 0,
            state: State,
            exitCode: Int32? = nil,
            message: String? = nil,
            cpuSeconds: Double? = nil,
            memoryBytes: Int64? = nil
        ) {
            self.id = id
            self.attempt = attempt
            self.replica = replica
            self.state = state
            self.exitCode = exitCode
            self.message = message
            self.cpuSeconds = cpuSeconds
            self.memoryBytes = memoryBytes
        }
    }

    public struct Output: Codable, Equatable, Sendable {
        public var id: JobID
        public var attempt: Int
        public var replica: Int
        public var stream: LogChunk.Stream
        public var text: String
        /// Numbers this replica's chunks from 1: a report sent again (its answer lost on a cut link, though the
        /// server stored it) stores nothing twice.
        public var sequence: Int64?

        public init(id: JobID, attempt: Int, replica: Int = 0, stream: LogChunk.Stream, text: String, sequence: Int64? = nil) {
            self.id = id
            self.attempt = attempt
            self.replica = replica
            self.stream = stream
            self.text = text
            self.sequence = sequence
        }
    }

    public var node: String
    /// Sent when joining and when the machine changed; the server asks for it when it does not know the node
    /// (or no longer holds it ready), and then takes nothing else of the report: the agent sends it all again.
    public var inventory: NodeInventory?
    public var usage: NodeUsage?
    public var jobs: [JobStatus]
    public var output: [Output]
    /// The ``AgentDirective/digest`` of the last directive the agent applied: when the server's is the same, it
    /// answers ``AgentDirective/unchanged`` instead of the whole set again.
    public var directiveDigest: String?

    public init(node: String, inventory: NodeInventory? = nil, usage: NodeUsage? = nil, jobs: [JobStatus] = [], output: [Output] = []) {
        self.node = node
        self.inventory = inventory
        self.usage = usage
        self.jobs = jobs
        self.output = output
    }
}

/// A job an agent must run.
public struct Assignment: Codable, Equatable, Sendable {
    public var id: JobID
    public var attempt: Int
    /// Which replica of a gang (0 for a single task).
    public var replica: Int
    public var command: [String]
    /// The job's environment plus `ALLOT_JOB_ID`, `ALLOT_ALLOCATION` and `CUDA_VISIBLE_DEVICES`.
    public var environment: [String: String]
    public var placement: ReplicaPlacement
    /// Data to stage onto the node before the command starts; its paths go in `ALLOT_INPUT_0`, ….
    public var inputs: [JobInput]?
    /// The job's partition policy: how long the agent keeps it running once cut off from the server.
    public var onDisconnect: DisconnectPolicy?

    public init(
        id: JobID,
        attempt: Int,
        replica: Int,
        command: [String],
        environment: [String: String],
        placement: ReplicaPlacement,
        inputs: [JobInput]? = nil,
        onDisconnect: DisconnectPolicy? = nil
    ) {
        self.id = id
        self.attempt = attempt
        self.replica = replica
        self.command = command
        self.environment = environment
        self.placement = placement
        self.inputs = inputs
        self.onDisconnect = onDisconnect
    }
}

/// What the server wants a node to run: the whole set, so the agent starts what is missing and stops what is not listed.
public struct AgentDirective: Codable, Equatable, Sendable {
    /// Identifies the server process: versions restart when it does.
    public var epoch: String
    /// Changes whenever the set changes; an agent long-polls with the version it has.
    public var version: Int
    public var assignments: [Assignment]
    public var scanIntervalSeconds: Double
    /// Seconds between SIGTERM and SIGKILL when a job is stopped.
    public var gracePeriodSeconds: Double
    /// Set when the server needs the node's inventory (it does not know the node).
    public var inventoryRequested: Bool
    /// The leader's term when several servers share a store: an agent refuses a directive of a term older than
    /// one it has seen, so a deposed leader can never make it start or keep anything.
    public var term: Int64?
    /// Names the set of assignments (a hash of the rest of the directive): the agent sends it back with its
    /// reports.
    public var digest: String?
    /// The answer to a report that already has this directive (its ``digest``): `assignments` is left empty and
    /// means nothing; the agent keeps the set it has.
    public var unchanged: Bool?

    public init(
        epoch: String,
        version: Int,
        assignments: [Assignment],
        scanIntervalSeconds: Double,
        gracePeriodSeconds: Double,
        inventoryRequested: Bool = false,
        term: Int64? = nil
    ) {
        self.term = term
        self.epoch = epoch
        self.version = version
        self.assignments = assignments
        self.scanIntervalSeconds = scanIntervalSeconds
        self.gracePeriodSeconds = gracePeriodSeconds
        self.inventoryRequested = inventoryRequested
    }
}

/// `POST /v1/agent/certificate`: a node's certificate signing request (PEM), sent once with the join token.
public struct NodeCertificateRequest: Codable, Equatable, Sendable {
    public var node: String
    public var request: String

    public init(node: String, request: String) {
        self.node = node
        self.request = request
    }
}

/// `POST /v1/tokens/join/rotate`: the new agent join token, shown once.
public struct JoinTokenRotation: Codable, Equatable, Sendable {
    public var secret: String

    public init(secret: String) {
        self.secret = secret
    }
}

/// A node's own certificate, as the server keeps it: the certificate it issued (by fingerprint), and whether it
/// was revoked.
public struct NodeBinding: Codable, Sendable, Equatable {
    public var node: String
    public var fingerprint: String
    public var issuedAt: Double
    public var notAfter: Double
    public var revokedAt: Double?

    public var isActive: Bool { revokedAt == nil }

    public init(node: String, fingerprint: String, issuedAt: Double, notAfter: Double, revokedAt: Double? = nil) {
        self.node = node
        self.fingerprint = fingerprint
        self.issuedAt = issuedAt
        self.notAfter = notAfter
        self.revokedAt = revokedAt
    }
}
