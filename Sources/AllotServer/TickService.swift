import ServiceLifecycle

/// Runs the control plane's periodic work (node-down detection, drain completion) every scan interval,
/// until graceful shutdown.
struct TickService: Service {
    let plane: ControlPlane

    func run() async throws {
        let interval = plane.configuration.scanIntervalSeconds
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
            await plane.tick()
        }
        await plane.shutdown()
    }
}
