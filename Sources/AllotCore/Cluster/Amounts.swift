/// Divisible amounts in the scheduler's compiled form: fixed fields plus extended resources by number.
struct Amounts: Hashable, Sendable {
    var cpu: Int64 = 0
    var memory: Int64 = 0
    var disk: Int64 = 0
    var network: Int64 = 0
    var extended: [Int64] = []

    static let zero = Amounts()

    func extended(_ index: Int) -> Int64 { index < extended.count ? extended[index] : 0 }

    mutating func add(_ other: Amounts, sign: Int64 = 1) {
        cpu += sign * other.cpu
        memory += sign * other.memory
        disk += sign * other.disk
        network += sign * other.network
        if !other.extended.isEmpty {
            if extended.count < other.extended.count {
                extended.append(contentsOf: repeatElement(0, count: other.extended.count - extended.count))
            }
            for index in other.extended.indices { extended[index] += sign * other.extended[index] }
        }
    }

    /// Whether `used + demand` stays within `limit` in every dimension.
    static func fits(_ demand: Amounts, used: Amounts, limit: Amounts) -> Bool {
        guard used.cpu + demand.cpu <= limit.cpu, used.memory + demand.memory <= limit.memory,
            used.disk + demand.disk <= limit.disk, used.network + demand.network <= limit.network
        else { return false }
        for index in demand.extended.indices where demand.extended[index] > 0 {
            if used.extended(index) + demand.extended[index] > limit.extended(index) { return false }
        }
        return true
    }

    /// Whether `self` is at least `other` in every dimension.
    func dominates(_ other: Amounts) -> Bool {
        guard cpu >= other.cpu, memory >= other.memory, disk >= other.disk, network >= other.network else { return false }
        for index in other.extended.indices where extended(index) < other.extended[index] { return false }
        return true
    }

    /// The amount ordinary work may use when a fraction `headroom` is kept back.
    func withoutHeadroom(_ headroom: Double) -> Amounts {
        func keep(_ value: Int64) -> Int64 { value - Int64((Double(value) * headroom).rounded(.down)) }
        return Amounts(cpu: keep(cpu), memory: keep(memory), disk: keep(disk), network: keep(network), extended: extended.map(keep))
    }
}

/// One replica's demand in compiled form.
struct Demand: Hashable, Sendable {
    var amounts: Amounts
    /// Devices touched: whole devices, or devices shared by memory when ``shareBytes`` > 0.
    var deviceCount: Int
    /// Memory taken on each shared device; 0 for whole devices.
    var shareBytes: Int64
    /// Required GPU model key; 0 takes any.
    var modelKey: Int
    /// Critical work may use the headroom.
    var critical: Bool

    var sharesDevices: Bool { shareBytes > 0 }
}

/// Where one replica goes: a node slot and the global numbers of the devices it uses.
struct Choice: Equatable, Sendable {
    var node: Int
    var devices: [Int]
}
