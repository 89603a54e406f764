import AllotAPI
import AllotCore
import Foundation

/// Enforces a job's CPU and memory with cgroups where the machine allows: cgroup v2 (the unified hierarchy
/// with the `cpu` and `memory` controllers) or cgroup v1 (`cpu` and `memory` hierarchies), each job in a group
/// `allot/<agent>-<job>` whose `cpu.max` / `cpu.cfs_quota_us` and `memory.max` / `memory.limit_in_bytes` are its grant.
/// Where neither is writable, jobs run unconfined and the agent says so.
///
/// The process joins its group right after it starts; anything it forks in that first instant stays outside.
public struct CgroupLimits: Sendable {
    public enum Mode: Sendable, Equatable {
        case v2(root: String)
        case v1(cpu: String, memory: String)
        case unavailable(String)
    }

    public let mode: Mode

    public init(mode: Mode) { self.mode = mode }

    /// Whether jobs are put in cgroups (so they must be held until they are).
    public var enforces: Bool {
        if case .unavailable = mode { return false }
        return true
    }

    /// Finds what this machine allows, creating the `allot` parent group.
    public static func detect(root: String = "/sys/fs/cgroup") -> CgroupLimits {
        let manager = FileManager.default
        if let controllers = try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8),
            controllers.contains("cpu"), controllers.contains("memory")
        {
            let parent = root + "/allot"
            try? manager.createDirectory(atPath: parent, withIntermediateDirectories: true)
            // Children of `allot` get the cpu and memory controllers.
            if (try? "+cpu +memory".write(toFile: parent + "/cgroup.subtree_control", atomically: false, encoding: .utf8)) != nil {
                return CgroupLimits(mode: .v2(root: parent))
            }
        }
        let cpu = root + "/cpu/allot"
        let memory = root + "/memory/allot"
        if manager.fileExists(atPath: root + "/cpu/cpu.cfs_quota_us"), manager.fileExists(atPath: root + "/memory/memory.limit_in_bytes"),
            (try? manager.createDirectory(atPath: cpu, withIntermediateDirectories: true)) != nil,
            (try? manager.createDirectory(atPath: memory, withIntermediateDirectories: true)) != nil
        {
            return CgroupLimits(mode: .v1(cpu: cpu, memory: memory))
        }
        return CgroupLimits(mode: .unavailable("no writable cgroup v2 or v1 cpu and memory hierarchies"))
    }

    /// Puts a started process in a group limited to the placement's CPU and memory; returns what is enforced.
    public func confine(pid: Int32, key: String, placement: ReplicaPlacement) -> String {
        let name = Self.groupName(key)
        let cpu = placement.cpuMillis
        let memory = placement.memoryBytes
        let period = 100_000
        let quota = cpu > 0 ? max(1000, Int(cpu) * period / 1000) : nil
        do {
            switch mode {
            case .unavailable(let reason):
                return "best effort: \(reason)"
            case .v2(let root):
                let group = root + "/" + name
                try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: true)
                if let quota { try write("\(quota) \(period)", group + "/cpu.max") }
                if memory > 0 { try write("\(memory)", group + "/memory.max") }
                try write("\(pid)", group + "/cgroup.procs")
                return "cgroup v2: " + describe(cpu, memory)
            case .v1(let cpuRoot, let memoryRoot):
                let cpuGroup = cpuRoot + "/" + name
                let memoryGroup = memoryRoot + "/" + name
                try FileManager.default.createDirectory(atPath: cpuGroup, withIntermediateDirectories: true)
                try FileManager.default.createDirectory(atPath: memoryGroup, withIntermediateDirectories: true)
                if let quota {
                    try write("\(period)", cpuGroup + "/cpu.cfs_period_us")
                    try write("\(quota)", cpuGroup + "/cpu.cfs_quota_us")
                }
                if memory > 0 { try write("\(memory)", memoryGroup + "/memory.limit_in_bytes") }
                try write("\(pid)", cpuGroup + "/cgroup.procs")
                try write("\(pid)", memoryGroup + "/cgroup.procs")
                return "cgroup v1: " + describe(cpu, memory)
            }
        } catch {
            return "best effort: cannot confine the job (\(error.localizedDescription))"
        }
    }

    /// What a job's group has used: CPU seconds so far and memory now; `nil`s where it has no group.
    public func usage(key: String) -> (cpuSeconds: Double?, memoryBytes: Int64?) {
        let name = Self.groupName(key)
        func read(_ path: String) -> String? { LocalSystemProbe().read(path) }
        switch mode {
        case .unavailable: return (nil, nil)
        case .v2(let root):
            let group = root + "/" + name
            return (
                read(group + "/cpu.stat").flatMap(ProcFiles.cgroupCPUSeconds),
                read(group + "/memory.current").flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            )
        case .v1(let cpu, let memory):
            return (
                read(cpu + "/" + name + "/cpuacct.usage").flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.map { $0 / 1e9 },
                read(memory + "/" + name + "/memory.usage_in_bytes").flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            )
        }
    }

    /// Removes a job's (now empty) groups.
    public func release(key: String) {
        let name = Self.groupName(key)
        switch mode {
        case .unavailable: return
        case .v2(let root): rmdir(root + "/" + name)
        case .v1(let cpu, let memory):
            rmdir(cpu + "/" + name)
            rmdir(memory + "/" + name)
        }
    }

    static func groupName(_ key: String) -> String { String(key.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }) }

    private func describe(_ cpu: Int64, _ memory: Int64) -> String {
        let cpuText = cpu > 0 ? "cpu \(Quantity.formatCPU(cpu))" : "cpu unlimited"
        let memoryText = memory > 0 ? "memory \(Quantity.formatBytes(memory))" : "memory unlimited"
        return "\(cpuText), \(memoryText)"
    }

    private func write(_ text: String, _ path: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw NSError(domain: "allot.cgroup", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot open \(path)"])
        }
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(text.utf8))
    }
}
