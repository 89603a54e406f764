/// Alibaba's disaggregated DLRM inference trace (Yang et al., NSDI'25): one row per service instance with CPU,
/// GPU (0 or 1), memory in GiB, and creation / scheduled / deletion times in seconds. An instance created
/// before the trace began (empty or NaN) arrives at 0; one still alive at the end runs to the last time seen
/// in the trace. The application is the tenant. It is a service trace: completion times are lifetimes.
public enum AlibabaDLRMTrace {
    public static func read(_ text: String) throws(TraceError) -> Trace {
        let csv = try CSVRows(text)
        let columns = try csv.columns([
            "instance_sn", "app_name", "cpu_request", "gpu_request", "memory_request", "creation_time", "scheduled_time", "deletion_time",
        ])
        var rows: [(id: String, app: String, cpu: Double, gpus: Int, memory: Double, created: Double?, scheduled: Double?, deleted: Double?)] = []
        var end = 0.0
        for (line, fields) in csv.rows {
            let reader = FieldReader(line: line, fields: fields)
            let created = try reader.optionalNumber(columns[5], "creation_time")
            let scheduled = try reader.optionalNumber(columns[6], "scheduled_time")
            let deleted = try reader.optionalNumber(columns[7], "deletion_time")
            end = max(end, created ?? 0, scheduled ?? 0, deleted ?? 0)
            rows.append(
                (
                    try reader.text(columns[0], "instance_sn"), try reader.text(columns[1], "app_name"),
                    try reader.nonNegative(columns[2], "cpu_request"), try reader.count(columns[3], "gpu_request"),
                    try reader.nonNegative(columns[4], "memory_request"), created, scheduled, deleted
                )
            )
        }
        var jobs: [TraceJob] = []
        jobs.reserveCapacity(rows.count)
        for row in rows {
            let submit = row.created ?? row.scheduled ?? 0
            let start = max(submit, row.scheduled ?? submit)
            jobs.append(
                TraceJob(
                    id: row.id,
                    submit: submit,
                    duration: max(0, (row.deleted ?? end) - start),
                    gpus: row.gpus,
                    cpuMillis: Int64((row.cpu * 1000).rounded()),
                    memoryBytes: Int64((row.memory * 1_073_741_824).rounded()),
                    tenant: row.app
                )
            )
        }
        var trace = Trace(
            format: .alibabaDLRM,
            jobs: jobs,
            notes: [
                "Alibaba DLRM inference instances (Yang et al., NSDI'25): lifetimes of long-running services, application as tenant",
                "instances alive before the trace start arrive at 0; those alive at its end run to \(Int(end)) s",
            ]
        )
        trace.normalize()
        return trace
    }
}
