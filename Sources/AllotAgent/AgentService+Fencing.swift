import AllotAPI
import AllotClient
import Foundation
import Logging

/// Fencing: an agent cut off from the server stops the jobs the server may start elsewhere, before it may.
extension AgentService {
    /// How long without an answered report, the link looking cut, before jobs are stopped: two scan intervals,
    /// so that with the shortened grace below they have ended before the server, after three, may requeue them.
    var fenceAfter: Double { 2 * scanInterval }

    /// Cut off from the server: stops each running job whose partition policy has run out (`requeue` at once,
    /// `wait=D` after D more), SIGTERM then SIGKILL within a quarter of a scan interval.
    func fenceIfCutOff() async {
        var silent = Date().timeIntervalSince(max(started, client.lastReportContact ?? started))
        guard silent > fenceAfter else { return }
        // A report the server's host has whole, not yet answered (a slow server, its store stalled), while that
        // host goes on acknowledging: not a cut link.
        if let heard = await client.reportDelivered() { silent = min(silent, Date().timeIntervalSince(heard)) }
        guard silent > fenceAfter else { return }
        // Only a link that looks cut: the last report got nothing back, or one is stuck on its way now.
        if !lastReportUnheard, !(await client.reportStuck()) { return }
        stopJobs(silent: silent)
    }

    func stopJobs(silent: Double) {
        for (key, job) in running
        where !job.stopping && silent > fenceAfter + (job.assignment.onDisconnect?.waitSeconds ?? 0) && !job.process.hasExited {
            running[key]?.stopping = true
            fenced.insert(key)
            let process = job.process
            let grace = min(self.grace, scanInterval / 4)
            Task { _ = await process.stop(grace: grace) }
            logger.warning(
                "job stopped: the server is out of reach",
                metadata: [
                    "job.id": "\(job.assignment.id)", "silent.seconds": "\(Int(silent))", "policy": "\(job.assignment.onDisconnect ?? .requeue)",
                ]
            )
        }
    }

    func fenceLoop() async {
        while !stopping {
            await fenceIfCutOff()
            try? await Task.sleep(for: .milliseconds(100))  // cancelled only when the agent stops, which ends the loop
        }
    }
}
