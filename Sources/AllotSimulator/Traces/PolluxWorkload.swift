/// The Pollux evaluation workloads (Qiao et al., OSDI'21, §5.3): `name,time,application,num_replicas,batch_size`.
///
/// Arrival times are real (from Philly); each job's application stands for its Philly GPU-time class. The
/// workloads carry no run times (Pollux derives them from profiled models we do not have), so each job gets
/// the geometric middle of its class in GPU-hours, divided by its replicas (one GPU each):
/// cifar10 and ncf (under 1 GPU-hour) 0.5 h, deepspeech2 and bert (1–10 h) 3.2 h, yolov3 (10–100 h) 32 h,
/// imagenet (100 h and more) 320 h. Figures from these are comparable between Allot policies only.
public enum PolluxWorkload {
    /// GPU-hours per application class.
    public static let gpuHours: [String: Double] = [
        "cifar10": 0.5, "ncf": 0.5, "deepspeech2": 3.2, "bert": 3.2, "yolov3": 32, "imagenet": 320,
    ]

    public static func read(_ text: String, defaults: TraceDefaults = TraceDefaults()) throws(TraceError) -> Trace {
        let csv = try CSVRows(text)
        let columns = try csv.columns(["name", "time", "application", "num_replicas"])
        var jobs: [TraceJob] = []
        for (line, fields) in csv.rows {
            let reader = FieldReader(line: line, fields: fields)
            let application = try reader.text(columns[2], "application")
            guard let hours = gpuHours[application] else {
                throw TraceError(line: line, "unknown application '\(application)' (known: \(gpuHours.keys.sorted().joined(separator: ", ")))")
            }
            let replicas = try reader.count(columns[3], "num_replicas")
            guard replicas > 0 else { throw TraceError(line: line, "num_replicas must be at least 1") }
            jobs.append(
                TraceJob(
                    id: try reader.text(columns[0], "name"),
                    submit: try reader.nonNegative(columns[1], "time"),
                    duration: hours * 3600 / Double(replicas),
                    gpus: replicas,
                    cpuMillis: defaults.cpu(gpus: replicas),
                    memoryBytes: defaults.memory(gpus: replicas),
                    tenant: application
                )
            )
        }
        var trace = Trace(
            format: .pollux,
            jobs: jobs,
            notes: [
                "Pollux workload (Qiao et al., OSDI'21): real arrivals; run times assumed from each application's GPU-time class",
                "tenant = application; " + defaults.description,
            ]
        )
        trace.normalize()
        return trace
    }
}
