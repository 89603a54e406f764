/// One point of a series: a raw sample (`mean == max`), or the mean and the largest sample of a bucket.
public struct HistoryPoint: Sendable, Equatable {
    /// Seconds since 1970: the sample's time, or the start of the bucket.
    public var time: Double
    public var mean: Double
    public var max: Double

    public init(time: Double, mean: Double, max: Double) {
        self.time = time
        self.mean = mean
        self.max = max
    }

    public init(time: Double, value: Double) {
        self.init(time: time, mean: value, max: value)
    }
}

/// The points of one series in one tier from `start` for the tier's chunk span: the unit the store keeps.
public struct HistoryChunk: Sendable, Equatable {
    public var series: String
    public var tier: Int
    public var start: Double
    public var points: [HistoryPoint]

    public init(series: String, tier: Int, start: Double, points: [HistoryPoint]) {
        self.series = series
        self.tier = tier
        self.start = start
        self.points = points
    }

    /// Points packed as little-endian 32-bit floats: the offset from `start` and the value for raw chunks
    /// (8 bytes a point), the offset, mean and max for downsampled ones (12 bytes).
    public func encoded() -> [UInt8] {
        let raw = tier == 0
        var bytes: [UInt8] = []
        bytes.reserveCapacity(points.count * (raw ? 8 : 12))
        func append(_ value: Double) {
            let bits = Float(value).bitPattern
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        }
        for point in points {
            append(point.time - start)
            append(point.mean)
            if !raw { append(point.max) }
        }
        return bytes
    }

    /// Reads what ``encoded()`` wrote; `nil` when the length does not fit the tier's layout.
    public init?(series: String, tier: Int, start: Double, encoded bytes: [UInt8]) {
        let width = tier == 0 ? 8 : 12
        guard bytes.count % width == 0 else { return nil }
        func float(_ at: Int) -> Double {
            var bits: UInt32 = 0
            for index in 0..<4 { bits |= UInt32(bytes[at + index]) << UInt32(8 * index) }
            return Double(Float(bitPattern: bits))
        }
        var points: [HistoryPoint] = []
        points.reserveCapacity(bytes.count / width)
        for offset in stride(from: 0, to: bytes.count, by: width) {
            let mean = float(offset + 4)
            points.append(HistoryPoint(time: start + float(offset), mean: mean, max: width == 8 ? mean : float(offset + 8)))
        }
        self.init(series: series, tier: tier, start: start, points: points)
    }
}
