import AllotAPI
import ServiceLifecycle
import Synchronization

/// What the autoscaler shows the rest of the server: its intents and its latest decision per waiting job,
/// read under a lock of its own by the job and node routes (never through the control plane's queue).
public final class ProvisioningBoard: Sendable {
    private struct State {
        var enabled = false
        var intents: [LaunchIntent] = []
        var decisions: [JobID: String] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether an autoscaler runs.
    public var enabled: Bool { state.withLock { $0.enabled } }

    /// Every intent, newest first.
    public var intents: [LaunchIntent] { state.withLock { $0.intents.sorted { $0.createdAt > $1.createdAt } } }

    public func decision(for job: JobID) -> String? { state.withLock { $0.decisions[job] } }

    func publish(intents: [LaunchIntent], decisions: [JobID: String]) {
        state.withLock {
            $0.enabled = true
            $0.intents = intents
            $0.decisions = decisions
        }
    }

    /// A job view with the autoscaler's word on it added.
    func annotated(_ view: JobView) -> JobView {
        guard !view.job.state.isTerminal, let decision = decision(for: view.job.id) else { return view }
        var shown = view
        shown.provisioning = decision
        return shown
    }
}

/// Runs the autoscaler's passes until graceful shutdown.
public struct AutoscalerService: Service {
    let autoscaler: Autoscaler

    public init(autoscaler: Autoscaler) { self.autoscaler = autoscaler }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await autoscaler.run() }
    }
}
