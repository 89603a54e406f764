import AllotAPI
import AllotCore
import AllotLifecycle
import AllotStore
import Logging

extension ControlPlane {
    /// One scheduling cycle: the lifecycle turns the scheduler's actions into job records, made durable,
    /// after which agents are woken.
    func runCycle() async {
        let time = now()
        let started = ContinuousClock.now
        let actions = lifecycle.cycle(now: time)
        metrics.record(metrics.cycleDuration, since: started)
        recordQueueWaits(actions, at: time)
        do {
            try await carry(actions)
            schedulerUnpublished = !reads.publish(lifecycle.scheduler, tasks: lifecycle.active.count)
        } catch {
            // The store failed: memory is reloaded from it and the cycle runs again once it takes writes.
            logger.debug("scheduling cycle not recorded", metadata: ["error": "\(error.message)"])
        }
    }

    /// The queue wait of every job bound for the first time.
    func recordQueueWaits(_ actions: [LifecycleAction], at time: Double) {
        for case .persist(let batch) in actions {
            for job in batch.updateJobs where job.state == .scheduled && job.attempt == 1 && job.scheduledAt == time {
                metrics.queueWait.record(duration: .seconds(max(0, time - job.submittedAt)))
            }
        }
    }

    /// Every scan interval: the cluster's usage samples, then the lifecycle's tick (node loss, drain
    /// completion, grace periods that ran out).
    public func tick() async {
        let time = now()
        await recorder.record(clusterSamples(at: time), at: time)
        trackEmptyNodes(at: time)
        outputStored = outputStored.filter { active[$0.key] != nil }
        let at = now()
        // The last cycle's outcome, when it came too soon after the one before to be published.
        if schedulerUnpublished { schedulerUnpublished = !reads.publish(lifecycle.scheduler, tasks: lifecycle.active.count) }
        // A node whose report is still being taken (a slow store) has been heard from just now.
        for name in reportsInProgress.keys where scheduled.contains(name) { lifecycle.heartbeat(name, usage: nil, now: at) }
        let actions = lifecycle.tick(now: at)
        for case .persist(let batch) in actions {
            for node in batch.nodes where node.state == .down {
                logger.warning("node down: no heartbeat", metadata: ["node.name": "\(node.name)", "silent.seconds": "\(at - node.lastHeartbeatAt)"])
            }
        }
        do { try await carry(actions) } catch { logger.debug("node changes not recorded", metadata: ["error": "\(error.message)"]) }
    }
}
