import AllotCore

/// Every control-plane setting, with defaults.
public struct ServerConfiguration: Sendable {
    public var scheduler: SchedulerConfiguration
    /// Seconds between SIGTERM and SIGKILL when a job is cancelled or preempted.
    public var gracePeriodSeconds: Double
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// The longest an agent's long-poll for new work is held, in seconds.
    public var longPollSeconds: Double
    /// How many log chunks one logs call returns at most.
    public var maxLogChunks: Int

    public init(
        scheduler: SchedulerConfiguration = SchedulerConfiguration(rejectInfeasible: true),
        gracePeriodSeconds: Double = 10,
        maxBodyBytes: Int = 1 << 20,
        longPollSeconds: Double = 10,
        maxLogChunks: Int = 1000
    ) {
        self.scheduler = scheduler
        self.gracePeriodSeconds = gracePeriodSeconds
        self.maxBodyBytes = maxBodyBytes
        self.longPollSeconds = longPollSeconds
        self.maxLogChunks = maxLogChunks
    }

    /// Heartbeats are expected every scan interval; three missed mark a node down.
    public var scanIntervalSeconds: Double { scheduler.scanIntervalSeconds }
}
