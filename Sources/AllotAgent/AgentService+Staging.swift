import AllotAPI
import Foundation
import Logging

extension AgentService {
    /// A job whose inputs are being copied onto the node.
    struct Staging {
        var assignment: Assignment
        var task: Task<Void, Never>
        var bytesDone: Int64 = 0
        var bytes: Int64
    }

    /// Where a job's inputs go: beside the agent's state file, else in the temporary directory.
    func inputsDirectory(_ key: String) -> String {
        let base = stateFile.map { ($0 as NSString).deletingLastPathComponent } ?? FileManager.default.temporaryDirectory.path
        let safe = key.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        return base + "/inputs/" + String(safe)
    }

    /// Starts copying the job's inputs; the job starts once they are all in, with `ALLOT_INPUT_<i>` naming
    /// where each landed.
    func beginStaging(_ assignment: Assignment, key: String) {
        let inputs = assignment.inputs ?? []
        let directory = inputsDirectory(key)
        let declared = inputs.reduce(Int64(0)) { $0 + ($1.bytes ?? 0) }
        let task = Task {
            do {
                let paths = try await InputStaging.stage(inputs, into: directory) { done, all in
                    await self.stagingProgress(key, done: done, of: all)
                }
                self.staged(key, paths: paths)
            } catch {
                self.stagingFailed(key, error: error)
            }
        }
        staging[key] = Staging(assignment: assignment, task: task, bytes: declared)
        logger.info("staging inputs", metadata: ["job.id": "\(assignment.id)", "inputs": "\(inputs.map(\.url))"])
        dirty = true
    }

    func stagingProgress(_ key: String, done: Int64, of all: Int64) {
        guard staging[key] != nil else { return }
        staging[key]?.bytesDone = done
        staging[key]?.bytes = max(all, done)
    }

    func staged(_ key: String, paths: [String]) {
        guard let job = staging.removeValue(forKey: key) else { return }
        var assignment = job.assignment
        // The last word on the copy, ahead of the start in the same report.
        var status = AgentReport.JobStatus(id: assignment.id, attempt: assignment.attempt, replica: assignment.replica, state: .staging)
        (status.stagedBytes, status.stagingBytes) = (job.bytesDone, job.bytes)
        statuses.append(status)
        for (index, path) in paths.enumerated() { assignment.environment["ALLOT_INPUT_\(index)"] = path }
        start(assignment, key: key)
    }

    func stagingFailed(_ key: String, error: any Error) {
        guard let job = staging.removeValue(forKey: key) else { return }
        finished.insert(key)
        removeInputs(key)
        let assignment = job.assignment
        statuses.append(
            AgentReport.JobStatus(
                id: assignment.id,
                attempt: assignment.attempt,
                replica: assignment.replica,
                state: .failedToStart,
                exitCode: 127,
                message: "its inputs could not be staged: \(error)"
            )
        )
        logger.warning("inputs not staged", metadata: ["job.id": "\(assignment.id)", "error": "\(error)"])
        dirty = true
    }

    /// The server no longer wants the job (cancelled, moved): the copy stops and what it wrote goes.
    func stopStaging(_ key: String) {
        guard let job = staging.removeValue(forKey: key) else { return }
        job.task.cancel()
        removeInputs(key)
    }

    /// What a job's inputs took on the node, once it no longer needs them.
    func removeInputs(_ key: String) {
        let directory = inputsDirectory(key)
        guard FileManager.default.fileExists(atPath: directory) else { return }
        do { try FileManager.default.removeItem(atPath: directory) } catch {
            logger.warning("inputs not removed", metadata: ["path": "\(directory)", "error": "\(error)"])
        }
    }

    /// One status per job being staged, with its progress.
    var stagingStatuses: [AgentReport.JobStatus] {
        staging.values.map { job in
            var status = AgentReport.JobStatus(
                id: job.assignment.id,
                attempt: job.assignment.attempt,
                replica: job.assignment.replica,
                state: .staging
            )
            status.stagedBytes = job.bytesDone
            status.stagingBytes = job.bytes
            return status
        }
    }
}
