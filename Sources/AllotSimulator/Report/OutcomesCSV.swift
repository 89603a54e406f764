import AllotCore

/// Each finished job's outcome under each policy, one CSV row per job and policy (`allot simulate --outcomes`).
public enum OutcomesCSV {
    public static let header = "policy,job,tenant,gpus,submit_s,duration_s,first_start_s,finish_s,jct_s,wait_s,run_s,preemptions"

    public static func render(_ runs: [SimulationRun], trace: Trace) -> String {
        var lines = [header]
        for run in runs {
            for outcome in run.jobs {
                let fields: [String] = [
                    run.policy.rawValue, CSVField.quote(trace.jobs[outcome.index].id), CSVField.quote(outcome.tenant), String(outcome.gpus),
                    number(outcome.submit), number(outcome.duration), number(outcome.firstStart), number(outcome.finish),
                    number(outcome.completionTime), number(outcome.queueingDelay), number(outcome.runTime), String(outcome.preemptions),
                ]
                lines.append(fields.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Seconds with at most three decimals, without a trailing `.0`.
    static func number(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) : String(rounded)
    }
}
