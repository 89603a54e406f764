import AllotAPI
import AllotCore
import Foundation

/// Finds a machine's resources and live usage: CPU model and cores (cgroup quota aware), memory (cgroup
/// limit aware), disks of the configured paths, network interfaces with link speed, and NVIDIA GPUs.
///
/// A machine without GPUs or without `nvidia-smi` is normal: the inventory just has no GPUs, and a note says why.
public struct NodeDiscovery: Sendable {
    public var probe: any SystemProbe
    public var name: String?
    public var diskPaths: [String]

    public init(probe: any SystemProbe = LocalSystemProbe(), name: String? = nil, diskPaths: [String] = ["/"]) {
        self.probe = probe
        self.name = name
        self.diskPaths = diskPaths
    }

    public func inventory() -> NodeInventory {
        var notes: [String] = []
        let (model, processors) = ProcFiles.cpuInfo(probe.read("/proc/cpuinfo") ?? "")
        let quota = cpuQuota()
        if let quota { notes.append("cgroup CPU quota: \(Quantity.format(quota)) cores") }
        var memory = ProcFiles.memInfo(probe.read("/proc/meminfo") ?? "", field: "MemTotal") ?? 0
        if let limit = memoryLimit(), limit < memory {
            memory = limit
            notes.append("cgroup memory limit: \(Quantity.formatBytes(limit))")
        }
        let disks = diskPaths.compactMap { path -> NodeInventory.Disk? in
            guard let stats = probe.fileSystem(path) else {
                notes.append("disk \(path): not found")
                return nil
            }
            return NodeInventory.Disk(path: path, totalBytes: stats.total, freeBytes: stats.free)
        }
        let network = probe.list("/sys/class/net").filter { $0 != "lo" }.map { interface in
            NodeInventory.NetworkInterface(
                name: interface,
                speedBitsPerSecond: ProcFiles.linkSpeed(probe.read("/sys/class/net/\(interface)/speed")),
                up: probe.read("/sys/class/net/\(interface)/operstate")?.trimmingCharacters(in: .whitespacesAndNewlines) == "up"
            )
        }
        let (gpus, gpuNote) = discoverGPUs()
        if let gpuNote { notes.append(gpuNote) }
        return NodeInventory(
            name: name ?? probe.hostName,
            cpu: NodeInventory.CPU(model: model ?? "unknown", logicalCores: max(processors, 1), quotaCores: quota),
            memoryBytes: memory,
            disks: disks,
            network: network,
            gpus: gpus,
            notes: notes
        )
    }

    /// GPUs from `nvidia-smi`, or none with the reason.
    public func discoverGPUs() -> ([NodeInventory.GPU], String?) {
        guard let result = probe.run("nvidia-smi", NvidiaSMI.queryArguments) else { return ([], "nvidia-smi not found: no GPUs") }
        guard result.status == 0 else { return ([], "nvidia-smi exited with status \(result.status): no GPUs") }
        do {
            return (try NvidiaSMI.parseQueryGPU(result.output), nil)
        } catch {
            return ([], "\(error): no GPUs")
        }
    }

    /// A CPU sample for utilization: cumulative busy and total ticks.
    public func cpuSample() -> (busy: UInt64, total: UInt64)? { ProcFiles.cpuTimes(probe.read("/proc/stat") ?? "") }

    /// Live usage; CPU utilization needs the previous sample.
    public func usage(since previous: (busy: UInt64, total: UInt64)?) -> (NodeUsage, (busy: UInt64, total: UInt64)?) {
        let sample = cpuSample()
        var utilization: Double?
        if let previous, let sample, sample.total > previous.total {
            utilization = Double(sample.busy &- previous.busy) / Double(sample.total - previous.total)
        }
        let meminfo = probe.read("/proc/meminfo") ?? ""
        let total = ProcFiles.memInfo(meminfo, field: "MemTotal") ?? 0
        let available = ProcFiles.memInfo(meminfo, field: "MemAvailable") ?? total
        let gpus = discoverGPUs().0.map {
            NodeUsage.GPU(index: $0.index, utilizationPercent: $0.utilizationPercent, memoryUsedBytes: $0.memoryUsedBytes)
        }
        let disk = diskPaths.first.flatMap { probe.fileSystem($0) }
        let network = ProcFiles.networkBytes(probe.read("/proc/net/dev") ?? "")
        let usage = NodeUsage(
            cpuUtilization: utilization,
            memoryUsedBytes: max(0, total - available),
            gpus: gpus,
            diskUsedBytes: disk.map { max(0, $0.total - $0.free) },
            networkReceivedBytes: network?.received,
            networkSentBytes: network?.sent
        )
        return (usage, sample)
    }

    private func cpuQuota() -> Double? {
        let own = ProcFiles.cgroupV2Path(probe.read("/proc/self/cgroup") ?? "").map { $0 == "/" ? "" : $0 } ?? ""
        for path in ["/sys/fs/cgroup\(own)/cpu.max", "/sys/fs/cgroup/cpu.max"] {
            if let text = probe.read(path) { return ProcFiles.cgroupV2CPUMax(text) }
        }
        if let quota = probe.read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), let period = probe.read("/sys/fs/cgroup/cpu/cpu.cfs_period_us") {
            return ProcFiles.cgroupV1CPUQuota(quota: quota, period: period)
        }
        return nil
    }

    private func memoryLimit() -> Int64? {
        let own = ProcFiles.cgroupV2Path(probe.read("/proc/self/cgroup") ?? "").map { $0 == "/" ? "" : $0 } ?? ""
        for path in ["/sys/fs/cgroup\(own)/memory.max", "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = probe.read(path) { return ProcFiles.cgroupMemoryLimit(text) }
        }
        return nil
    }
}
