import AllotAPI
import AllotCore

extension ControlPlane {
    /// Pending jobs submitted before `time` that wait for capacity the cluster lacks (see
    /// `Scheduler.waitsForCapacity`), oldest first.
    func jobsWaitingForCapacity(submittedBefore time: Double) -> [Job] {
        active.values
            .filter { $0.state == .pending && $0.submittedAt <= time && scheduler.waitsForCapacity($0.task.id) }
            .sorted { $0.sequence < $1.sequence }
    }

    /// Sends an intent's change to event subscribers.
    nonisolated func publishProvisioning(_ intent: LaunchIntent) { events.publish("provisioning", intent) }
}
