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
        await plane.flush()
    }
}

/// Ends the control plane's long polls as soon as graceful shutdown begins. Listed after the HTTP application
/// in a service group (which stops services in reverse order), so the server does not wait out agents' polls.
public struct ControlPlaneShutdown: Service {
    let plane: ControlPlane

    public init(plane: ControlPlane) { self.plane = plane }

    public func run() async throws {
        try? await gracefulShutdown()
        await plane.shutdown()
    }
}

/// Runs the control plane's writer, scheduling cycles and store recovery (``ControlPlane/run()``). At graceful
/// shutdown it lets them finish what was asked for; listed first in a service group, it stops last, after the
/// HTTP application has answered its last call.
public struct ControlPlaneService: Service {
    let plane: ControlPlane

    public init(plane: ControlPlane) { self.plane = plane }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await plane.run()
        } onGracefulShutdown: {
            plane.finishWork()
        }
    }
}
