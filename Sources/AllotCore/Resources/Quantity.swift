/// Parsing of resource quantities written with units.
///
/// Memory and disk are bytes: `16GiB` and `16Gi` are binary (2^30), `16GB` and `16G` decimal (10^9),
/// a plain number is bytes. CPU is cores, stored as millicores: `2`, `1.5`, `500m`. Network is bits per
/// second: `10G`, `10Gbps`, `100Mbit`, or a plain number. Anything else is refused with a
/// ``QuantityError`` naming the field and the value.
public enum Quantity {
    /// Parses a byte quantity such as `16GiB`, `512Mi`, `40GB`, `1.5T` or `1073741824`.
    public static func bytes(_ text: String, field: String) throws(QuantityError) -> Int64 {
        let (number, unit) = try split(text, field: field)
        let multiplier: Double
        switch unit {
        case "": multiplier = 1
        case "B": multiplier = 1
        case "k", "K", "KB", "kB": multiplier = 1e3
        case "M", "MB": multiplier = 1e6
        case "G", "GB": multiplier = 1e9
        case "T", "TB": multiplier = 1e12
        case "P", "PB": multiplier = 1e15
        case "Ki", "KiB": multiplier = 1024
        case "Mi", "MiB": multiplier = 1_048_576
        case "Gi", "GiB": multiplier = 1_073_741_824
        case "Ti", "TiB": multiplier = 1_099_511_627_776
        case "Pi", "PiB": multiplier = 1_125_899_906_842_624
        default:
            throw QuantityError(
                field: field,
                value: text,
                reason: "unknown unit \"\(unit)\" (use B, KiB/Ki, MiB/Mi, GiB/Gi, TiB/Ti, KB/K, MB/M, GB/G, TB/T)"
            )
        }
        return try integral(number * multiplier, text: text, field: field)
    }

    /// Parses a byte quantity given as a JSON number (bytes).
    public static func bytes(_ value: Double, field: String) throws(QuantityError) -> Int64 {
        try integral(value, text: format(value), field: field)
    }

    /// Parses a CPU quantity such as `2`, `0.5` or `500m` into millicores.
    public static func cpuMillis(_ text: String, field: String) throws(QuantityError) -> Int64 {
        let (number, unit) = try split(text, field: field)
        switch unit {
        case "": return try integral(number * 1000, text: text, field: field)
        case "m": return try integral(number, text: text, field: field)
        default:
            throw QuantityError(
                field: field,
                value: text,
                reason: "unknown CPU unit \"\(unit)\" (write cores, e.g. 2 or 0.5, or millicores, e.g. 500m)"
            )
        }
    }

    /// Parses a CPU quantity given as a JSON number of cores.
    public static func cpuMillis(_ cores: Double, field: String) throws(QuantityError) -> Int64 {
        try integral(cores * 1000, text: format(cores), field: field)
    }

    /// Parses a bit rate such as `10G`, `25Gbps`, `100Mbit` or `1000000` into bits per second.
    public static func bitsPerSecond(_ text: String, field: String) throws(QuantityError) -> Int64 {
        let (number, rawUnit) = try split(text, field: field)
        var unit = rawUnit
        for suffix in ["bps", "bit/s", "bit", "b"] where unit.hasSuffix(suffix) {
            unit.removeLast(suffix.count)
            break
        }
        let multiplier: Double
        switch unit {
        case "": multiplier = 1
        case "k", "K": multiplier = 1e3
        case "M": multiplier = 1e6
        case "G": multiplier = 1e9
        case "T": multiplier = 1e12
        default:
            throw QuantityError(field: field, value: text, reason: "unknown bit-rate unit \"\(rawUnit)\" (use e.g. 100Mbps, 10G, 25Gbit)")
        }
        return try integral(number * multiplier, text: text, field: field)
    }

    /// Parses a count of an extended resource (a whole number, or a plain quantity with a decimal unit).
    public static func count(_ text: String, field: String) throws(QuantityError) -> Int64 {
        try bytes(text, field: field)
    }

    // MARK: - Formatting

    /// Formats bytes with a binary unit, e.g. `16GiB` or `1.5GiB`.
    public static func formatBytes(_ bytes: Int64) -> String {
        let units: [(String, Double)] = [
            ("PiB", 1_125_899_906_842_624), ("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024),
        ]
        let value = Double(bytes)
        for (name, size) in units where abs(value) >= size {
            return format(value / size) + name
        }
        return "\(bytes)B"
    }

    /// Formats millicores as cores, e.g. `2`, `0.5`.
    public static func formatCPU(_ millis: Int64) -> String { format(Double(millis) / 1000) }

    /// Formats a number with at most three decimals and no trailing zeros.
    public static func format(_ value: Double) -> String {
        if value.isNaN || value.isInfinite { return "\(value)" }
        // Too large or too small for three decimals: exactly as given, with its exponent (never "9.223" for 9.2e18).
        if abs(value) >= 1e15 || (value != 0 && abs(value) < 0.0005) { return "\(value)" }
        let rounded = (value * 1000).rounded() / 1000
        if rounded == rounded.rounded() && abs(rounded) < 1e15 { return String(Int64(rounded)) }
        var text = String(rounded)
        if let dot = text.firstIndex(of: "."), text.count - text.distance(from: text.startIndex, to: dot) > 4 {
            text = String(text[..<text.index(dot, offsetBy: 4)])
        }
        return text
    }

    // MARK: - Helpers

    private static func split(_ text: String, field: String) throws(QuantityError) -> (Double, String) {
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { throw QuantityError(field: field, value: text, reason: "empty quantity") }
        var end = trimmed.startIndex
        var sawDigit = false
        var sawDot = false
        for (offset, character) in trimmed.enumerated() {
            if character.isASCII && character.isNumber {
                sawDigit = true
            } else if character == "." && !sawDot {
                sawDot = true
            } else if (character == "-" || character == "+") && offset == 0 {
            } else {
                break
            }
            end = trimmed.index(after: end)
        }
        let numberText = String(trimmed[..<end])
        let unit = String(trimmed[end...]).trimmingSpaces()
        guard sawDigit, let number = Double(numberText), number.isFinite else {
            throw QuantityError(field: field, value: text, reason: "not a number with an optional unit")
        }
        guard number >= 0 else { throw QuantityError(field: field, value: text, reason: "must not be negative") }
        return (number, unit)
    }

    private static func integral(_ value: Double, text: String, field: String) throws(QuantityError) -> Int64 {
        guard value.isFinite else { throw QuantityError(field: field, value: text, reason: "not a finite number") }
        guard value >= 0 else { throw QuantityError(field: field, value: text, reason: "must not be negative") }
        guard value < 9.2e18 else { throw QuantityError(field: field, value: text, reason: "too large") }
        // A positive amount that would round to nothing is a mistake, not a request for zero.
        guard value == 0 || value >= 1 else {
            throw QuantityError(field: field, value: text, reason: "too small: less than the smallest unit (1m of CPU, 1 byte); use 0 for none")
        }
        return Int64(value.rounded())
    }
}

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
