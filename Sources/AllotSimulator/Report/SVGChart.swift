import Foundation

/// Inline SVG charts with no script and no external resource: lines over a linear or log x-axis, and
/// horizontal stacked bars.
struct SVGChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    var title: String
    var xLabel: String
    var yLabel: String
    var width = 720.0
    var height = 300.0
    let left = 64.0
    let right = 150.0
    let top = 32.0
    let bottom = 44.0

    /// A line chart; `logX` plots x on a log-10 scale (values ≤ 0 are dropped). Steps draw each value until the next x.
    func lines(_ series: [Series], logX: Bool = false, steps: Bool = false, yMax fixedMax: Double? = nil) -> String {
        let all = series.flatMap(\.points).filter { !logX || $0.x > 0 }
        guard !all.isEmpty else { return frame("<text x=\"\(left)\" y=\"\(top + 20)\">no data</text>") }
        var xMin = all.map(\.x).min()!
        var xMax = all.map(\.x).max()!
        if logX {
            xMin = floor(log10(xMin))
            xMax = ceil(log10(xMax))
        }
        if !logX { xMin = min(xMin, 0) }
        if xMax <= xMin { xMax = xMin + 1 }
        let yMax = fixedMax ?? Self.niceCeiling(all.map(\.y).max()!)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + ((logX ? log10(x) : x) - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - min(max(y / yMax, 0), 1) * plotHeight }
        var body = axes(yMax: yMax)
        if logX {
            for exponent in Int(xMin)...Int(xMax) {
                let x = left + (Double(exponent) - xMin) / (xMax - xMin) * plotWidth
                body += tick(x: x, label: Self.format(pow(10, Double(exponent))))
            }
        } else {
            for step in 0...4 {
                let value = xMin + (xMax - xMin) * Double(step) / 4
                body += tick(x: px(value), label: Self.format(value))
            }
        }
        for (index, entry) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            var path = ""
            var previousY: Double?
            for point in entry.points where !logX || point.x > 0 {
                let x = px(point.x)
                let y = py(point.y)
                if path.isEmpty {
                    path = "M\(Self.coordinate(x)),\(Self.coordinate(y))"
                } else {
                    if steps, let previousY { path += " L\(Self.coordinate(x)),\(Self.coordinate(previousY))" }
                    path += " L\(Self.coordinate(x)),\(Self.coordinate(y))"
                }
                previousY = y
            }
            body += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"/>"
            body += legend(index, entry.name, color)
        }
        return frame(body)
    }

    /// One horizontal bar per row, split into segments that sum to at most 1.
    func stackedBars(rows: [(label: String, segments: [Double])], segmentNames: [String]) -> String {
        let plotWidth = width - left - right
        let barHeight = min(28, (height - top - bottom) / Double(max(rows.count, 1)) - 6)
        var body = ""
        for (row, entry) in rows.enumerated() {
            let y = top + Double(row) * (barHeight + 6)
            body +=
                "<text x=\"\(Self.coordinate(left - 6))\" y=\"\(Self.coordinate(y + barHeight / 2 + 4))\" text-anchor=\"end\">\(escapeHTML(entry.label))</text>"
            var x = left
            for (index, share) in entry.segments.enumerated() where share > 0 {
                let segment = share * plotWidth
                body +=
                    "<rect x=\"\(Self.coordinate(x))\" y=\"\(Self.coordinate(y))\" width=\"\(Self.coordinate(segment))\" height=\"\(Self.coordinate(barHeight))\" fill=\"\(Self.palette[index % Self.palette.count])\"><title>\(escapeHTML(segmentNames[index])): \(Self.format(share * 100))%</title></rect>"
                x += segment
            }
        }
        let axisY = top + Double(rows.count) * (barHeight + 6)
        body += "<line x1=\"\(left)\" y1=\"\(Self.coordinate(axisY))\" x2=\"\(left + plotWidth)\" y2=\"\(Self.coordinate(axisY))\" stroke=\"#444\"/>"
        for step in 0...4 {
            body += tick(x: left + plotWidth * Double(step) / 4, label: "\(step * 25)%", y: axisY)
        }
        for (index, name) in segmentNames.enumerated() { body += legend(index, name, Self.palette[index % Self.palette.count]) }
        return frame(body)
    }

    private func frame(_ body: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" role="img" aria-label="\(escapeHTML(title))" font-family="sans-serif" font-size="11"><title>\(escapeHTML(title))</title><text x="\(left)" y="18" font-size="13" font-weight="bold">\(escapeHTML(title))</text><text x="\(Self.coordinate(left + (width - left - right) / 2))" y="\(Int(height) - 6)" text-anchor="middle">\(escapeHTML(xLabel))</text><text x="14" y="\(Self.coordinate(top + (height - top - bottom) / 2))" text-anchor="middle" transform="rotate(-90 14 \(Self.coordinate(top + (height - top - bottom) / 2)))">\(escapeHTML(yLabel))</text>\(body)</svg>
        """
    }

    private func axes(yMax: Double) -> String {
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        var text =
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(Self.coordinate(plotWidth))\" height=\"\(Self.coordinate(plotHeight))\" fill=\"none\" stroke=\"#444\"/>"
        for step in 0...4 {
            let value = yMax * Double(step) / 4
            let y = top + plotHeight - plotHeight * Double(step) / 4
            text +=
                "<line x1=\"\(left)\" y1=\"\(Self.coordinate(y))\" x2=\"\(Self.coordinate(left + plotWidth))\" y2=\"\(Self.coordinate(y))\" stroke=\"#ddd\"/>"
            text += "<text x=\"\(Self.coordinate(left - 4))\" y=\"\(Self.coordinate(y + 4))\" text-anchor=\"end\">\(Self.format(value))</text>"
        }
        return text
    }

    private func tick(x: Double, label: String, y: Double? = nil) -> String {
        let base = y ?? (height - bottom)
        return
            "<line x1=\"\(Self.coordinate(x))\" y1=\"\(Self.coordinate(base))\" x2=\"\(Self.coordinate(x))\" y2=\"\(Self.coordinate(base + 4))\" stroke=\"#444\"/>"
            + "<text x=\"\(Self.coordinate(x))\" y=\"\(Self.coordinate(base + 16))\" text-anchor=\"middle\">\(escapeHTML(label))</text>"
    }

    private func legend(_ index: Int, _ name: String, _ color: String) -> String {
        let x = width - right + 12
        let y = top + 8 + Double(index) * 16
        return "<rect x=\"\(Self.coordinate(x))\" y=\"\(Self.coordinate(y - 8))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            + "<text x=\"\(Self.coordinate(x + 14))\" y=\"\(Self.coordinate(y + 1))\">\(escapeHTML(name))</text>"
    }

    static func coordinate(_ value: Double) -> String { String(format: "%.1f", value) }

    static func format(_ value: Double) -> String {
        if value == 0 { return "0" }
        if abs(value) >= 1_000_000 { return String(format: "%.3gM", value / 1_000_000) }
        if abs(value) >= 10_000 { return String(format: "%.3gk", value / 1000) }
        return String(format: "%.3g", value)
    }

    /// The smallest 1, 2 or 5 × 10^k at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for factor in [1.0, 2, 5, 10] where factor * magnitude >= value { return factor * magnitude }
        return 10 * magnitude
    }
}

func escapeHTML(_ text: String) -> String {
    var escaped = ""
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
