/// A minimal CSV reader for traces: comma-separated fields, double-quoted fields with `""` escapes, LF or
/// CRLF line ends, blank lines skipped. The first row is the header.
struct CSVRows {
    let header: [String]
    /// Data rows with their 1-based line numbers in the file.
    let rows: [(line: Int, fields: [Substring])]

    init(_ text: String) throws(TraceError) {
        var rows: [(Int, [Substring])] = []
        var header: [String]?
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == " " }) { continue }
            let fields = Self.split(line)
            if header == nil {
                header = fields.map { String($0).trimmingSpaces() }
            } else {
                rows.append((lineNumber, fields))
            }
        }
        guard let header else { throw TraceError(line: 0, "the trace is empty") }
        self.header = header
        self.rows = rows
    }

    /// The column index of each name, or an error naming the first missing one.
    func columns(_ names: [String]) throws(TraceError) -> [Int] {
        var indices: [Int] = []
        for name in names {
            guard let index = header.firstIndex(of: name) else {
                throw TraceError(line: 1, "missing column \(name) (header: \(header.joined(separator: ",")))")
            }
            indices.append(index)
        }
        return indices
    }

    static func split(_ line: Substring) -> [Substring] {
        guard line.contains("\"") else { return line.split(separator: ",", omittingEmptySubsequences: false) }
        var fields: [Substring] = []
        var current = ""
        var quoted = false
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if quoted {
                if character == "\"" {
                    let next = line.index(after: index)
                    if next < line.endIndex, line[next] == "\"" {
                        current.append("\"")
                        index = next
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                fields.append(Substring(current))
                current = ""
            } else {
                current.append(character)
            }
            index = line.index(after: index)
        }
        fields.append(Substring(current))
        return fields
    }
}

/// Field conversions that name the field and line on failure.
struct FieldReader {
    let line: Int
    let fields: [Substring]

    func text(_ column: Int, _ name: String) throws(TraceError) -> String {
        guard column < fields.count else { throw TraceError(line: line, "missing field \(name)") }
        return String(fields[column]).trimmingSpaces()
    }

    func number(_ column: Int, _ name: String) throws(TraceError) -> Double {
        let value = try text(column, name)
        guard let number = Double(value), number.isFinite else { throw TraceError(line: line, "\(name) '\(value)' is not a number") }
        return number
    }

    /// A number, or `nil` for an empty field or NaN.
    func optionalNumber(_ column: Int, _ name: String) throws(TraceError) -> Double? {
        let value = try text(column, name)
        if value.isEmpty || value.lowercased() == "nan" { return nil }
        guard let number = Double(value), number.isFinite else { throw TraceError(line: line, "\(name) '\(value)' is not a number") }
        return number
    }

    func count(_ column: Int, _ name: String) throws(TraceError) -> Int {
        let value = try number(column, name)
        guard value >= 0, value == value.rounded(), value < 1e9 else { throw TraceError(line: line, "\(name) '\(value)' is not a whole count") }
        return Int(value)
    }

    func nonNegative(_ column: Int, _ name: String) throws(TraceError) -> Double {
        let value = try number(column, name)
        guard value >= 0 else { throw TraceError(line: line, "\(name) \(value) is negative") }
        return value
    }
}

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
