import Foundation

/// Parsers for the Linux files discovery reads; each takes the file's text and never touches the system.
public enum ProcFiles {
    /// `/proc/cpuinfo`: the first model name and the number of logical processors.
    public static func cpuInfo(_ text: String) -> (model: String?, processors: Int) {
        var model: String?
        var processors = 0
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "processor": processors += 1
            case "model name", "Model", "cpu model": if model == nil, !parts[1].isEmpty { model = parts[1] }
            default: break
            }
        }
        return (model, processors)
    }

    /// `/proc/net/dev`: bytes received and sent, summed over every interface but loopback.
    public static func networkBytes(_ text: String) -> (received: Int64, sent: Int64)? {
        var received: Int64 = 0
        var sent: Int64 = 0
        var found = false
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let interface = parts[0].trimmingCharacters(in: .whitespaces)
            let fields = parts[1].split(separator: " ")
            guard interface != "lo", fields.count >= 9, let inBytes = Int64(fields[0]), let outBytes = Int64(fields[8]) else { continue }
            received += inBytes
            sent += outBytes
            found = true
        }
        return found ? (received, sent) : nil
    }

    /// cgroup v2 `cpu.stat`: `usage_usec` in seconds.
    public static func cgroupCPUSeconds(_ text: String) -> Double? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("usage_usec ") {
            return Double(line.dropFirst("usage_usec ".count)).map { $0 / 1_000_000 }
        }
        return nil
    }

    /// `/proc/meminfo`: a field in bytes (`MemTotal`, `MemAvailable`).
    public static func memInfo(_ text: String, field: String) -> Int64? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix(field + ":") {
            let words = line.dropFirst(field.count + 1).split(separator: " ")
            guard let value = words.first.flatMap({ Int64($0) }) else { return nil }
            return words.count > 1 && words[1] == "kB" ? value * 1024 : value
        }
        return nil
    }

    /// cgroup v2 `cpu.max` (`"200000 100000"` → 2 cores; `"max 100000"` → no limit).
    public static func cgroupV2CPUMax(_ text: String) -> Double? {
        let words = text.split(whereSeparator: { $0 == " " || $0.isNewline })
        guard words.count >= 2, let quota = Double(words[0]), let period = Double(words[1]), quota > 0, period > 0 else { return nil }
        return quota / period
    }

    /// cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` (a quota of -1 means no limit).
    public static func cgroupV1CPUQuota(quota: String, period: String) -> Double? {
        guard let quota = Double(quota.trimmingCharacters(in: .whitespacesAndNewlines)),
            let period = Double(period.trimmingCharacters(in: .whitespacesAndNewlines)), quota > 0, period > 0
        else { return nil }
        return quota / period
    }

    /// A cgroup memory limit (`memory.max` or `memory.limit_in_bytes`); `max` or an absurd value means none.
    public static func cgroupMemoryLimit(_ text: String) -> Int64? {
        guard let value = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), value > 0, value < Int64(1) << 60 else { return nil }
        return value
    }

    /// The agent's own cgroup v2 path from `/proc/self/cgroup` (the `0::/path` line).
    public static func cgroupV2Path(_ text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("0::") { return String(line.dropFirst(3)) }
        return nil
    }

    /// Cumulative CPU time from `/proc/stat`'s first line: (busy, total) in clock ticks.
    public static func cpuTimes(_ text: String) -> (busy: UInt64, total: UInt64)? {
        guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 4 else { return nil }
        // user nice system idle iowait irq softirq steal: guest time is already counted in user.
        let counted = Array(values.prefix(8))
        let total = counted.reduce(0, +)
        let idle = counted[3] + (counted.count > 4 ? counted[4] : 0)
        return (total - idle, total)
    }

    /// `/sys/class/net/<if>/speed` in Mbit/s; `-1` or unreadable means unknown.
    public static func linkSpeed(_ text: String?) -> Int64? {
        guard let text, let mbps = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), mbps > 0 else { return nil }
        return mbps * 1_000_000
    }
}
