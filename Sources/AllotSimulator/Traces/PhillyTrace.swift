/// Microsoft Philly jobs (Jeon et al., ATC'19) in the flat CSV the Pollux artifact made of them:
/// `timestamp,duration,num_gpus,gpu_time,cluster`, submit time as `YYYY-MM-DD HH:MM:SS` (unsorted rows),
/// duration = the sum of all attempts' run times, the virtual cluster as tenant. Also reads window subsets
/// in the form `job_id,arrival_s,num_gpus,duration_s,vc`. Philly gives no CPU or memory: the defaults apply.
public enum PhillyTrace {
    public static func read(_ text: String, defaults: TraceDefaults = TraceDefaults()) throws(TraceError) -> Trace {
        let csv = try CSVRows(text)
        let subset = csv.header.contains("arrival_s")
        let columns =
            subset
            ? try csv.columns(["job_id", "arrival_s", "num_gpus", "duration_s", "vc"])
            : try csv.columns(["timestamp", "duration", "num_gpus", "cluster"])
        var jobs: [TraceJob] = []
        jobs.reserveCapacity(csv.rows.count)
        for (row, (line, fields)) in csv.rows.enumerated() {
            let reader = FieldReader(line: line, fields: fields)
            let gpus: Int
            let submit: Double
            let duration: Double
            let tenant: String
            let id: String
            if subset {
                id = try reader.text(columns[0], "job_id")
                submit = try reader.nonNegative(columns[1], "arrival_s")
                gpus = try reader.count(columns[2], "num_gpus")
                duration = try reader.nonNegative(columns[3], "duration_s")
                tenant = try reader.text(columns[4], "vc")
            } else {
                id = String(row)
                submit = try timestamp(try reader.text(columns[0], "timestamp"), line: line)
                duration = try reader.nonNegative(columns[1], "duration")
                gpus = try reader.count(columns[2], "num_gpus")
                tenant = try reader.text(columns[3], "cluster")
            }
            jobs.append(
                TraceJob(
                    id: id,
                    submit: submit,
                    duration: duration,
                    gpus: gpus,
                    cpuMillis: defaults.cpu(gpus: gpus),
                    memoryBytes: defaults.memory(gpus: gpus),
                    tenant: tenant.isEmpty ? "default" : tenant
                )
            )
        }
        var trace = Trace(
            format: .philly,
            jobs: jobs,
            notes: [
                "Philly (Jeon et al., USENIX ATC'19): submit time, total run time, GPUs, virtual cluster as tenant",
                defaults.description,
            ]
        )
        trace.normalize()
        return trace
    }

    /// Seconds since 1970-01-01 of a `YYYY-MM-DD HH:MM:SS` time, read as UTC (only differences matter).
    static func timestamp(_ text: String, line: Int) throws(TraceError) -> Double {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" || $0 == "T" }).map { Int($0) }
        guard parts.count == 6, let year = parts[0], let month = parts[1], let day = parts[2], let hour = parts[3],
            let minute = parts[4], let second = parts[5], (1...12).contains(month), (1...31).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { throw TraceError(line: line, "timestamp '\(text)' is not YYYY-MM-DD HH:MM:SS") }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's civil-date algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
