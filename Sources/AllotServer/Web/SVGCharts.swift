import Foundation

/// Charts drawn on the server as inline SVG: labelled bars, and a daily line with a forecast and its band.
enum SVGCharts {
    /// Horizontal bars, one per label, largest first as given.
    static func bars(_ items: [(label: String, value: Double, idle: Bool)], width: Int = 560) -> String {
        guard !items.isEmpty else { return "<p>Nothing spent in this window.</p>" }
        let rowHeight = 22
        let labelWidth = 140
        let valueWidth = 90
        let height = items.count * rowHeight + 4
        let top = max(items.map(\.value).max() ?? 0, 1e-9)
        var svg =
            "<svg viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\" aria-label=\"\(items.map { "\(escape($0.label)) \(money($0.value))" }.joined(separator: ", "))\">"
        for (index, item) in items.enumerated() {
            let y = index * rowHeight + 2
            let length = Double(width - labelWidth - valueWidth) * max(0, item.value) / top
            svg += "<text x=\"0\" y=\"\(y + 14)\">\(escape(String(item.label.prefix(22))))</text>"
            svg += "<rect class=\"\(item.idle ? "idle" : "bar-rect")\" x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(format(length))\" height=\"14\"/>"
            svg += "<text x=\"\(format(Double(labelWidth) + length + 4))\" y=\"\(y + 14)\">\(money(item.value))</text>"
        }
        return svg + "</svg>"
    }

    /// Vertical bars for a series of days.
    static func days(_ items: [(day: String, value: Double)], width: Int = 1000, height: Int = 180) -> String {
        guard !items.isEmpty else { return "<p>No days in this window.</p>" }
        let top = max(items.map(\.value).max() ?? 0, 1e-9)
        let plotHeight = Double(height - 30)
        let step = Double(width - 50) / Double(items.count)
        var svg = "<svg viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\" aria-label=\"Spend per day, highest \(money(top))\">"
        svg += "<text x=\"0\" y=\"12\">\(money(top))</text>"
        for (index, item) in items.enumerated() {
            let barHeight = plotHeight * max(0, item.value) / top
            let x = 50 + Double(index) * step
            svg +=
                "<rect class=\"bar-rect\" x=\"\(format(x))\" y=\"\(format(plotHeight - barHeight + 4))\" width=\"\(format(max(1, step - 2)))\" height=\"\(format(barHeight))\"><title>\(item.day): \(money(item.value))</title></rect>"
            if items.count <= 16 || index % max(1, items.count / 8) == 0 {
                svg += "<text x=\"\(format(x))\" y=\"\(height - 4)\">\(escape(String(item.day.suffix(5))))</text>"
            }
        }
        return svg + "</svg>"
    }

    /// History as a line, the forecast dashed after it, its interval as a band.
    static func forecast(
        history: [(day: String, value: Double)],
        forecast: [(day: String, value: Double, lower: Double, upper: Double)],
        width: Int = 1000,
        height: Int = 200
    )
        -> String
    {
        let count = history.count + forecast.count
        guard count > 1 else { return "<p>Not enough history to forecast.</p>" }
        let top = max((history.map(\.value) + forecast.map(\.upper)).max() ?? 0, 1e-9)
        let plotHeight = Double(height - 30)
        let step = Double(width - 60) / Double(count - 1)
        func x(_ index: Int) -> String { format(50 + Double(index) * step) }
        func y(_ value: Double) -> String { format(plotHeight - plotHeight * max(0, value) / top + 4) }
        var svg =
            "<svg viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\" aria-label=\"Daily spend and forecast, highest \(money(top))\">"
        svg += "<text x=\"0\" y=\"12\">\(money(top))</text>"
        if !forecast.isEmpty {
            let start = history.count
            let upper = forecast.enumerated().map { "\(x(start + $0.offset)),\(y($0.element.upper))" }
            let lower = forecast.enumerated().reversed().map { "\(x(start + $0.offset)),\(y($0.element.lower))" }
            svg += "<polygon class=\"band\" points=\"\((upper + lower).joined(separator: " "))\"/>"
            let line =
                ([history.last.map { "\(x(start - 1)),\(y($0.value))" }].compactMap { $0 })
                + forecast.enumerated().map { "\(x(start + $0.offset)),\(y($0.element.value))" }
            svg += "<polyline class=\"forecast\" points=\"\(line.joined(separator: " "))\"/>"
        }
        if !history.isEmpty {
            svg +=
                "<polyline class=\"line\" points=\"\(history.enumerated().map { "\(x($0.offset)),\(y($0.element.value))" }.joined(separator: " "))\"/>"
        }
        let labels = history.map(\.day) + forecast.map(\.day)
        for index in stride(from: 0, to: labels.count, by: max(1, labels.count / 8)) {
            svg += "<text x=\"\(x(index))\" y=\"\(height - 4)\">\(escape(String(labels[index].suffix(5))))</text>"
        }
        return svg + "</svg>"
    }

    static func money(_ value: Double) -> String { String(format: "$%.2f", value) }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Text safe inside HTML elements and quoted attributes.
    static func escape(_ text: String) -> String {
        // Most text has nothing to escape: one pass over the bytes, no copy.
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 16)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
