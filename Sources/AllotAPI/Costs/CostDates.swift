import Foundation

/// UTC dates as cost reports and exports write them.
public enum CostDates {
    /// `2026-11-23`.
    public static func day(_ time: Double) -> String {
        let days = Int((time / 86_400).rounded(.down))
        let (year, month, day) = civil(days)
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    /// `2026-11-23T08:00:00Z` (whole seconds).
    public static func timestamp(_ time: Double) -> String {
        let seconds = Int(time.rounded())
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let inDay = seconds - days * 86_400
        return day(Double(days) * 86_400) + "T" + pad(inDay / 3_600, 2) + ":" + pad(inDay % 3_600 / 60, 2) + ":" + pad(inDay % 60, 2) + "Z"
    }

    /// Zero-padded to `width` digits (without the cost of a format string: exports write many).
    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// The first instant of the UTC month holding `time`, and of the next.
    public static func month(_ time: Double) -> (start: Double, end: Double) {
        let (year, month, _) = civil(Int((time / 86_400).rounded(.down)))
        let next = month == 12 ? (year + 1, 1) : (year, month + 1)
        return (Double(daysFromCivil(year, month, 1)) * 86_400, Double(daysFromCivil(next.0, next.1, 1)) * 86_400)
    }

    /// Reads `2026-11-23`, `2026-11-23T08:00:00Z` or seconds since 1970.
    public static func parse(_ text: String) -> Double? {
        if let seconds = Double(text), seconds.isFinite { return seconds }
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int($0) }
        guard parts.count == 3 || parts.count == 6, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        var time = Double(daysFromCivil(parts[0], parts[1], parts[2])) * 86_400
        if parts.count == 6 { time += Double(parts[3] * 3_600 + parts[4] * 60 + parts[5]) }
        return time
    }

    /// Year, month, day of a day number (days since 1970-01-01), proleptic Gregorian.
    static func civil(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
