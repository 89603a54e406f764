import AllotAPI
import AllotCore
import AllotSimulator
import Testing

@testable import AllotCommands

struct TraceExportTests {
    func job(_ id: String, sequence: Int64, state: JobState, submitted: Double, started: Double?, finished: Double?) -> Job {
        let task = TaskSpec(
            id: TaskID(id),
            tenant: "vision",
            priority: 3,
            requests: ResourceRequest(resources: ResourceVector(cpuMillis: 2000, memoryBytes: 4 << 30), gpus: 1),
            gang: 2,
            estimateSeconds: 600
        )
        var job = Job(id: JobID(id), task: task, command: ["train"], state: state, sequence: sequence, submittedAt: submitted)
        job.startedAt = started
        job.finishedAt = finished
        return job
    }

    /// A server's history becomes a trace that `allot simulate` reads back: finished jobs only, times from
    /// the first submission, whole-task requests.
    @Test func finishedJobsBecomeATraceThatReadsBack() throws {
        let jobs = [
            job("job-2", sequence: 2, state: .failed, submitted: 1_000_050, started: 1_000_060, finished: 1_000_090),
            job("job-1", sequence: 1, state: .succeeded, submitted: 1_000_000, started: 1_000_010, finished: 1_000_130),
            job("job-3", sequence: 3, state: .running, submitted: 1_000_070, started: 1_000_075, finished: nil),
            job("job-4", sequence: 4, state: .cancelled, submitted: 1_000_080, started: nil, finished: 1_000_085),
        ]
        let (rows, skipped) = TraceExportCommand.traceJobs(jobs)
        #expect(skipped == 2)
        #expect(rows.map(\.id) == ["job-1", "job-2"])
        #expect(rows.map(\.submit) == [0, 50])
        #expect(rows.map(\.duration) == [120, 30])
        #expect(
            rows[0]
                == TraceJob(
                    id: "job-1",
                    submit: 0,
                    duration: 120,
                    gpus: 2,
                    cpuMillis: 4000,
                    memoryBytes: 8 << 30,
                    tenant: "vision",
                    priority: 3,
                    estimate: 600
                )
        )
        let trace = try AllotTrace.read(AllotTrace.csv(rows))
        #expect(trace.jobs == rows)
    }
}
