import AllotCore
import Foundation

/// Allot's own trace format, as CSV (`id,submit,duration,gpus,cpu,memory,tenant,priority,estimate,gpu_model,gpu_memory`)
/// or JSON lines with the same keys. `submit` and `duration` are seconds and required; `cpu` is cores and
/// `memory` a quantity (`40GiB`) or bytes; the others may be empty or absent (`gpus` 0, tenant `default`,
/// priority 0, CPU and memory from the defaults). `gpu_model` pins a model; `gpu_memory` (a quantity) makes the
/// job take that much memory on each of `gpus` shared devices (at least one). `allot trace export` writes it from
/// a server's job history.
public enum AllotTrace {
    public static let columns = ["id", "submit", "duration", "gpus", "cpu", "memory", "tenant", "priority", "estimate", "gpu_model", "gpu_memory"]

    public static func read(_ text: String, defaults: TraceDefaults = TraceDefaults()) throws(TraceError) -> Trace {
        let firstLine = text.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        let jobs = firstLine.first == "{" ? try readJSONLines(text, defaults: defaults) : try readCSV(text, defaults: defaults)
        var trace = Trace(format: .allot, jobs: jobs, notes: ["Allot trace", defaults.description])
        trace.normalize()
        return trace
    }

    /// The CSV text of `jobs`, one row each, times in seconds.
    public static func csv(_ jobs: [TraceJob]) -> String {
        var lines = [columns.joined(separator: ",")]
        for job in jobs {
            let fields = [
                CSVField.quote(job.id), Quantity.format(job.submit), Quantity.format(job.duration), String(job.gpus),
                Quantity.formatCPU(job.cpuMillis), String(job.memoryBytes), CSVField.quote(job.tenant), String(job.priority),
                job.estimate.map(Quantity.format) ?? "", job.gpuModel.map(CSVField.quote) ?? "", job.gpuMemoryBytes.map(String.init) ?? "",
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func readCSV(_ text: String, defaults: TraceDefaults) throws(TraceError) -> [TraceJob] {
        let csv = try CSVRows(text)
        _ = try csv.columns(["submit", "duration"])
        let index = Dictionary(csv.header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var jobs: [TraceJob] = []
        for (row, (line, fields)) in csv.rows.enumerated() {
            let reader = FieldReader(line: line, fields: fields)
            func field(_ name: String) throws(TraceError) -> String? {
                guard let column = index[name], column < fields.count else { return nil }
                let value = try reader.text(column, name)
                return value.isEmpty ? nil : value
            }
            jobs.append(
                try job(
                    line: line,
                    row: row,
                    values: [
                        "id": try field("id"), "submit": try field("submit"), "duration": try field("duration"), "gpus": try field("gpus"),
                        "cpu": try field("cpu"), "memory": try field("memory"), "tenant": try field("tenant"),
                        "priority": try field("priority"), "estimate": try field("estimate"), "gpu_model": try field("gpu_model"),
                        "gpu_memory": try field("gpu_memory"),
                    ],
                    defaults: defaults
                )
            )
        }
        return jobs
    }

    private static func readJSONLines(_ text: String, defaults: TraceDefaults) throws(TraceError) -> [TraceJob] {
        var jobs: [TraceJob] = []
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let object: [String: Any]
            do {
                guard let parsed = try JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                    throw TraceError(line: offset + 1, "each line must be a JSON object")
                }
                object = parsed
            } catch let error as TraceError {
                throw error
            } catch {
                throw TraceError(line: offset + 1, "not JSON: \(error.localizedDescription)")
            }
            for key in object.keys where !columns.contains(key) {
                throw TraceError(line: offset + 1, "unknown key \(key) (known: \(columns.joined(separator: ", ")))")
            }
            var values: [String: String?] = [:]
            for (key, value) in object {
                switch value {
                case let string as String: values[key] = string
                case let number as NSNumber: values[key] = number.stringValue
                case is NSNull: values[key] = .some(nil)
                default: throw TraceError(line: offset + 1, "\(key) must be a string or a number")
                }
            }
            jobs.append(try job(line: offset + 1, row: jobs.count, values: values, defaults: defaults))
        }
        return jobs
    }

    private static func job(line: Int, row: Int, values: [String: String?], defaults: TraceDefaults) throws(TraceError) -> TraceJob {
        func value(_ key: String) -> String? { values[key] ?? nil }
        func number(_ key: String) throws(TraceError) -> Double? {
            guard let text = value(key) else { return nil }
            guard let number = Double(text), number.isFinite, number >= 0 else {
                throw TraceError(line: line, "\(key) '\(text)' must be a non-negative number")
            }
            return number
        }
        guard let submit = try number("submit") else { throw TraceError(line: line, "submit is required") }
        guard let duration = try number("duration") else { throw TraceError(line: line, "duration is required") }
        let gpus = try number("gpus") ?? 0
        guard gpus == gpus.rounded() else { throw TraceError(line: line, "gpus '\(gpus)' must be whole") }
        let count = Int(gpus)
        var cpu = defaults.cpu(gpus: count)
        var memory = defaults.memory(gpus: count)
        var share: Int64?
        do {
            if let text = value("cpu") { cpu = try Quantity.cpuMillis(text, field: "cpu") }
            if let text = value("memory") { memory = try Quantity.bytes(text, field: "memory") }
            if let text = value("gpu_memory") { share = try Quantity.bytes(text, field: "gpu_memory") }
        } catch {
            throw TraceError(line: line, error.description)
        }
        if let share, share <= 0 { throw TraceError(line: line, "gpu_memory must be positive") }
        let priority = value("priority").map { Int($0) } ?? 0
        guard let priority else { throw TraceError(line: line, "priority '\(value("priority")!)' must be an integer") }
        return TraceJob(
            id: value("id") ?? String(row),
            submit: submit,
            duration: duration,
            gpus: count,
            cpuMillis: cpu,
            memoryBytes: memory,
            tenant: value("tenant") ?? "default",
            priority: priority,
            estimate: try number("estimate"),
            gpuModel: value("gpu_model"),
            gpuMemoryBytes: share
        )
    }
}
