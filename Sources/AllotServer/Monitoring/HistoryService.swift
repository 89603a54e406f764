import ServiceLifecycle

/// Keeps the usage history on disk: every interval writes closed chunks, checkpoints open ones on their
/// schedule, closes silent series and prunes; at graceful shutdown writes everything held.
struct HistoryService: Service {
    let recorder: UsageRecorder
    let now: @Sendable () -> Double
    let interval: Double

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }  // ends early at shutdown
            await recorder.maintain(now: now())
        }
        await recorder.checkpoint()
    }
}
