/// A CSV file read by its header: quoted fields (`"a, b"`, `""` for a quote), CRLF or LF line ends. A row with
/// more fields than the header (Azure's unquoted `Generation` value `V1,V2`) has its extra fields joined back
/// onto the last column.
public struct CSVTable: Sendable {
    public let header: [String]
    public let rows: [[String]]

    public init(_ text: String) {
        var records: [[String]] = []
        var field = ""
        var record: [String] = []
        var quoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = iterator.next()
        while let scalar = pending {
            pending = iterator.next()
            if quoted {
                if scalar == "\"" {
                    if pending == "\"" {
                        field.unicodeScalars.append("\"")
                        pending = iterator.next()
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"": quoted = true
            case ",":
                record.append(field)
                field = ""
            case "\r": continue
            case "\n":
                record.append(field)
                field = ""
                records.append(record)
                record = []
            default: field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        header = records.first ?? []
        let width = header.count
        rows = records.dropFirst().filter { !($0.count == 1 && $0[0].isEmpty) }.map { row in
            guard row.count > width, width > 0 else { return row }
            return Array(row.prefix(width - 1)) + [row.suffix(from: width - 1).joined(separator: ",")]
        }
    }

    /// Each row as a dictionary by column name.
    public var records: [[String: String]] {
        rows.map { row in
            var record: [String: String] = [:]
            for (index, name) in header.enumerated() where index < row.count { record[name] = row[index] }
            return record
        }
    }
}
