/// One resolution of the usage history: how finely it keeps points, for how long, and how many seconds of
/// points are stored together in one chunk.
public struct HistoryTier: Sendable, Equatable {
    /// Seconds per point; 0 keeps every sample as it came (raw).
    public var resolution: Double
    /// Seconds a point is kept.
    public var retention: Double
    /// Seconds of points stored together.
    public var chunkSpan: Double

    public init(resolution: Double, retention: Double, chunkSpan: Double) {
        self.resolution = resolution
        self.retention = retention
        self.chunkSpan = chunkSpan
    }

    public var isRaw: Bool { resolution == 0 }

    /// The name used in the API: `raw`, `1m`, `1h`, or seconds (`90s`).
    public var name: String { isRaw ? "raw" : DurationText.format(resolution) }
}

/// The usage history's tiers, finest first. The default keeps raw samples for a day, 1-minute points for a
/// week and 1-hour points for a year.
public struct HistoryConfiguration: Sendable, Equatable {
    public var tiers: [HistoryTier]

    public init(tiers: [HistoryTier] = HistoryConfiguration.defaultTiers) {
        self.tiers = tiers
    }

    public static let defaultTiers = [
        HistoryTier(resolution: 0, retention: 86_400, chunkSpan: 600),
        HistoryTier(resolution: 60, retention: 7 * 86_400, chunkSpan: 3_600),
        HistoryTier(resolution: 3_600, retention: 365 * 86_400, chunkSpan: 86_400),
    ]

    /// Parses `raw=1d,1m=7d,1h=365d`: a raw tier first (optional), then resolutions that grow. Chunks hold
    /// 60 points of a downsampled tier (at most a day) and 10 minutes of raw samples.
    public static func parse(_ text: String) throws(QuantityError) -> HistoryConfiguration {
        var tiers: [HistoryTier] = []
        for part in text.split(separator: ",").map({ trimmed($0) }) where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2 else {
                throw QuantityError(field: "history", value: part, reason: "expected RESOLUTION=RETENTION, e.g. 1m=7d")
            }
            let resolution = pieces[0] == "raw" ? 0 : try DurationText.parse(pieces[0], field: "history")
            let retention = try DurationText.parse(pieces[1], field: "history")
            guard retention > 0, resolution >= 0, resolution < retention else {
                throw QuantityError(field: "history", value: part, reason: "retention must be longer than the resolution")
            }
            if let last = tiers.last, resolution <= last.resolution {
                throw QuantityError(field: "history", value: part, reason: "resolutions must grow from tier to tier")
            }
            let span = resolution == 0 ? min(600, retention) : min(max(resolution * 60, resolution), max(86_400, resolution))
            tiers.append(HistoryTier(resolution: resolution, retention: retention, chunkSpan: span))
        }
        guard !tiers.isEmpty else { throw QuantityError(field: "history", value: text, reason: "no tiers") }
        return HistoryConfiguration(tiers: tiers)
    }

    /// The finest tier that still holds points from `from`.
    public func tier(covering from: Double, now: Double) -> Int {
        tiers.firstIndex { now - $0.retention <= from } ?? tiers.count - 1
    }
}

/// Durations written as `30s`, `5m`, `2h`, `7d`, `1y` or plain seconds.
public enum DurationText {
    public static func parse(_ text: String, field: String) throws(QuantityError) -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400), ("w", 604_800), ("y", 31_536_000)]
        let text = trimmed(text)
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite { return value * scale }
        }
        if let value = Double(text), value >= 0, value.isFinite { return value }
        throw QuantityError(field: field, value: text, reason: "expected a duration such as 30s, 5m, 2h, 7d")
    }

    /// The shortest exact form: `1m`, `1h`, `7d`, else seconds.
    public static func format(_ seconds: Double) -> String {
        for (suffix, scale) in [("d", 86_400.0), ("h", 3_600), ("m", 60)]
        where seconds >= scale && seconds.truncatingRemainder(dividingBy: scale) == 0 {
            return "\(Int(seconds / scale))\(suffix)"
        }
        return "\(Quantity.format(seconds))s"
    }
}

/// `text` without leading and trailing spaces.
func trimmed(_ text: some StringProtocol) -> String {
    String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
}
