import AllotAPI
import AllotCore
import Foundation
import Testing

@testable import AllotAgent

/// A machine made of strings.
struct FakeProbe: SystemProbe {
    var files: [String: String] = [:]
    var directories: [String: [String]] = [:]
    var commands: [String: (status: Int32, output: String)] = [:]
    var fileSystems: [String: (total: Int64, free: Int64)] = [:]
    var hostName = "fake-host"

    func read(_ path: String) -> String? { files[path] }
    func list(_ path: String) -> [String] { directories[path] ?? [] }
    func run(_ program: String, _ arguments: [String]) -> (status: Int32, output: String)? { commands[program] }
    func fileSystem(_ path: String) -> (total: Int64, free: Int64)? { fileSystems[path] }
}

func fixture(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return try String(contentsOf: url, encoding: .utf8)
}

struct NvidiaSMITests {
    @Test func parsesTheRealH100Capture() throws {
        let gpus = try NvidiaSMI.parseQueryGPU(try fixture("h100-query-gpu.csv"))
        #expect(
            gpus == [
                NodeInventory.GPU(
                    index: 0,
                    uuid: "GPU-336ac9e6-4c8d-fe13-65bf-f28a4250a3eb",
                    name: "NVIDIA H100 80GB HBM3",
                    memoryTotalBytes: 81559 * 1_048_576,
                    memoryUsedBytes: 0,
                    utilizationPercent: 0,
                    migEnabled: false,
                    pciBusID: "00000000:00:06.0"
                )
            ]
        )
        #expect(GPUModelName.normalize(gpus[0].name) == "H100")
    }

    @Test func parsesSeveralGPUsWithUnknownFields() throws {
        let gpus = try NvidiaSMI.parseQueryGPU(try fixture("multi-gpu-query-gpu.csv"))
        #expect(gpus.map(\.index) == [0, 1, 2])
        #expect(gpus[0].migEnabled == true && gpus[0].utilizationPercent == 87 && gpus[0].memoryUsedBytes == 40960 * 1_048_576)
        #expect(gpus[1].utilizationPercent == nil && gpus[1].migEnabled == false)
        #expect(gpus[2].memoryUsedBytes == nil && gpus[2].migEnabled == nil && gpus[2].name == "NVIDIA L4")
    }

    @Test(arguments: [
        ("index, name\n0, X\n", "the header must name index, name and memory.total (found: index, name)"),
        ("index, name, memory.total [MiB]\n0, X\n", "line 2 has 2 fields, the header 3"),
        ("index, name, memory.total [MiB]\nzero, X, 10 MiB\n", #"line 2: index "zero" is not a number"#),
        ("index, name, memory.total [MiB]\n0, X, lots\n", #"line 2: memory.total "lots" is not a size in MiB"#),
    ])
    func garbageIsRefusedWithTheLine(text: String, message: String) {
        #expect(throws: NvidiaSMI.ParseError(message: message)) { try NvidiaSMI.parseQueryGPU(text) }
    }

    @Test func emptyOutputMeansNoGPUs() throws {
        #expect(try NvidiaSMI.parseQueryGPU("").isEmpty)
    }
}

struct NodeDiscoveryTests {
    static let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 9654\nprocessor\t: 1\nmodel name\t: AMD EPYC 9654\n"
    static let meminfo = "MemTotal:       24684096 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n"

    @Test func aMachineWithoutGPUsIsNormal() {
        var probe = FakeProbe(files: ["/proc/cpuinfo": Self.cpuinfo, "/proc/meminfo": Self.meminfo])
        probe.directories["/sys/class/net"] = ["eth0", "lo"]
        probe.files["/sys/class/net/eth0/speed"] = "25000\n"
        probe.files["/sys/class/net/eth0/operstate"] = "up\n"
        probe.fileSystems["/"] = (1_000_000_000, 400_000_000)
        let inventory = NodeDiscovery(probe: probe).inventory()
        #expect(inventory.name == "fake-host")
        #expect(inventory.cpu == NodeInventory.CPU(model: "AMD EPYC 9654", logicalCores: 2))
        #expect(inventory.memoryBytes == 24_684_096 * 1024)
        #expect(inventory.disks == [NodeInventory.Disk(path: "/", totalBytes: 1_000_000_000, freeBytes: 400_000_000)])
        #expect(inventory.network == [NodeInventory.NetworkInterface(name: "eth0", speedBitsPerSecond: 25_000_000_000, up: true)])
        #expect(inventory.gpus.isEmpty)
        #expect(inventory.notes.contains("nvidia-smi not found: no GPUs"))
        let spec = inventory.nodeSpec
        #expect(spec.capacity.cpuMillis == 2000 && spec.capacity.networkBitsPerSecond == 25_000_000_000 && spec.gpus.isEmpty)
    }

    @Test func cgroupLimitsBoundCPUAndMemory() throws {
        var v2 = FakeProbe(files: ["/proc/cpuinfo": Self.cpuinfo, "/proc/meminfo": Self.meminfo, "/proc/self/cgroup": "0::/jobs/agent\n"])
        v2.files["/sys/fs/cgroup/jobs/agent/cpu.max"] = "150000 100000\n"
        v2.files["/sys/fs/cgroup/jobs/agent/memory.max"] = "8589934592\n"
        let inventory = NodeDiscovery(probe: v2).inventory()
        #expect(inventory.cpu.quotaCores == 1.5 && inventory.nodeSpec.capacity.cpuMillis == 1500)
        #expect(inventory.memoryBytes == 8 * 1_073_741_824)
        var v1 = FakeProbe(files: ["/proc/cpuinfo": Self.cpuinfo, "/proc/meminfo": Self.meminfo])
        v1.files["/sys/fs/cgroup/cpu/cpu.cfs_quota_us"] = "-1\n"
        v1.files["/sys/fs/cgroup/cpu/cpu.cfs_period_us"] = "100000\n"
        v1.files["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = "9223372036854771712\n"
        let unlimited = NodeDiscovery(probe: v1).inventory()
        #expect(unlimited.cpu.quotaCores == nil && unlimited.memoryBytes == 24_684_096 * 1024)
    }

    @Test func gpusComeFromNvidiaSMIUnderTheirShortModel() throws {
        var probe = FakeProbe(files: ["/proc/cpuinfo": Self.cpuinfo, "/proc/meminfo": Self.meminfo])
        probe.commands["nvidia-smi"] = (0, try fixture("multi-gpu-query-gpu.csv"))
        let spec = NodeDiscovery(probe: probe).inventory().nodeSpec
        #expect(spec.gpus.map(\.model) == ["A100", "A100", "L4"])
        #expect(
            spec.gpus.map(\.uuid) == [
                "GPU-00000000-0000-0000-0000-000000000000", "GPU-11111111-1111-1111-1111-111111111111", "GPU-22222222-2222-2222-2222-222222222222",
            ]
        )
        probe.commands["nvidia-smi"] = (9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver")
        let broken = NodeDiscovery(probe: probe).inventory()
        #expect(broken.gpus.isEmpty && broken.notes.contains("nvidia-smi exited with status 9: no GPUs"))
    }

    @Test func cpuUtilizationComesFromTwoSamples() {
        var probe = FakeProbe(files: ["/proc/meminfo": Self.meminfo, "/proc/stat": "cpu  100 0 100 800 0 0 0 0 0 0\n"])
        let discovery = NodeDiscovery(probe: probe)
        let first = discovery.cpuSample()
        probe.files["/proc/stat"] = "cpu  250 0 150 900 0 0 0 0 0 0\n"
        let (usage, _) = NodeDiscovery(probe: probe).usage(since: first)
        #expect(usage.cpuUtilization == 200.0 / 300.0)
        #expect(usage.memoryUsedBytes == (24_684_096 - 20_000_000) * 1024)
    }

    @Test func theRealMachineIsDiscovered() {
        let inventory = NodeDiscovery().inventory()
        #expect(inventory.cpu.logicalCores >= 1)
        #expect(inventory.memoryBytes > 0)
        #expect(inventory.nodeSpec.capacity.cpuMillis >= 1)
    }
}

struct ResourceOverrideTests {
    @Test func declaredResourcesReplaceDiscovery() throws {
        let override = try ResourceOverride.parse("cpu=8,memory=32GiB,gpus=2xA100:80GiB+1xL4:24GiB")
        let base = NodeInventory(name: "n", cpu: NodeInventory.CPU(model: "x", logicalCores: 2), memoryBytes: 1)
        let spec = override.apply(to: base).nodeSpec
        #expect(spec.capacity.cpuMillis == 8000 && spec.capacity.memoryBytes == 32 * 1_073_741_824)
        #expect(spec.gpus.map(\.model) == ["A100", "A100", "L4"] && spec.gpus.map(\.index) == [0, 1, 2])
        #expect(spec.gpus[2].memoryBytes == 24 * 1_073_741_824)
        #expect(Set(spec.gpus.compactMap(\.uuid)).count == 3)
    }

    @Test(arguments: [
        ("cpu=lots", "resources.cpu"), ("ram=4GiB", "resources.ram"), ("gpus=A100", "resources.gpus"), ("gpus=0xA100:80GiB", "resources.gpus"),
        ("memory", "resources"), ("gpus=2xA100:80 gigs", "resources.gpus"),
    ])
    func badDeclarationsNameTheKey(text: String, field: String) {
        #expect {
            try ResourceOverride.parse(text)
        } throws: { error in
            (error as? QuantityError)?.field == field
        }
    }
}

@Suite struct LocalProbeTests {
    /// `/proc` files report a size of 0; a whole-file read that trusts the size, or stops after one buffer,
    /// loses everything past the first page (seen on a 16-core machine: 2 processors counted).
    @Test func readsProcFilesToTheEnd() throws {
        let probe = LocalSystemProbe()
        let maps = try #require(probe.read("/proc/self/maps"))
        var reference: [UInt8] = []
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/maps"))
        while let chunk = try handle.read(upToCount: 512), !chunk.isEmpty { reference.append(contentsOf: chunk) }
        // The mapping list of a test process runs well past one page, and ends with a whole line.
        #expect(maps.utf8.count > 8192)
        #expect(maps.hasSuffix("\n"))
        #expect(abs(maps.utf8.count - reference.count) < 1024)
    }
}
