import AllotAPI
import AllotCore
import Foundation

/// Reads `nvidia-smi --query-gpu=... --format=csv` output.
///
/// Columns are found by their header names, so extra or reordered fields are fine; units in the header
/// (`memory.total [MiB]`) or the values (`81559 MiB`, `0 %`) are understood, and `N/A`, `[N/A]` and
/// `[Not Supported]` read as unknown.
public enum NvidiaSMI {
    /// The fields the agent asks for.
    public static let queryFields = ["index", "uuid", "name", "pci.bus_id", "memory.total", "memory.used", "utilization.gpu", "mig.mode.current"]

    /// The arguments of the query command.
    public static var queryArguments: [String] { ["--query-gpu=\(queryFields.joined(separator: ","))", "--format=csv"] }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { "nvidia-smi output: \(message)" }
    }

    public static func parseQueryGPU(_ text: String) throws(ParseError) -> [NodeInventory.GPU] {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        guard let header = lines.first else { return [] }
        let columns = header.split(separator: ",").map { column -> String in
            let trimmed = String(column).trimmingCharacters(in: .whitespacesAndNewlines)
            if let bracket = trimmed.firstIndex(of: "[") { return String(trimmed[..<bracket]).trimmingCharacters(in: .whitespacesAndNewlines) }
            return trimmed
        }
        func column(_ name: String) -> Int? { columns.firstIndex(of: name) }
        guard let indexColumn = column("index"), let nameColumn = column("name"), let totalColumn = column("memory.total") else {
            throw ParseError(message: "the header must name index, name and memory.total (found: \(columns.joined(separator: ", ")))")
        }
        var gpus: [NodeInventory.GPU] = []
        for (number, line) in lines.dropFirst().enumerated() {
            let values = line.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard values.count == columns.count else {
                throw ParseError(message: "line \(number + 2) has \(values.count) fields, the header \(columns.count)")
            }
            func value(_ column: Int?) -> String? {
                guard let column else { return nil }
                let text = values[column]
                return ["N/A", "[N/A]", "[Not Supported]", "Not Supported", "[Unknown Error]", ""].contains(text) ? nil : text
            }
            guard let indexText = value(indexColumn), let index = Int(indexText) else {
                throw ParseError(message: "line \(number + 2): index \"\(values[indexColumn])\" is not a number")
            }
            guard let total = try mebibytes(value(totalColumn), field: "memory.total", line: number + 2) else {
                throw ParseError(message: "line \(number + 2): memory.total is unknown")
            }
            let migText = value(column("mig.mode.current"))
            gpus.append(
                NodeInventory.GPU(
                    index: index,
                    uuid: value(column("uuid")),
                    name: value(nameColumn) ?? "unknown",
                    memoryTotalBytes: total,
                    memoryUsedBytes: try mebibytes(value(column("memory.used")), field: "memory.used", line: number + 2),
                    utilizationPercent: try percent(value(column("utilization.gpu")), line: number + 2),
                    migEnabled: migText.map { $0.lowercased() == "enabled" },
                    pciBusID: value(column("pci.bus_id"))
                )
            )
        }
        return gpus
    }

    private static func number(_ text: String, unit: String) -> Double? {
        var trimmed = text
        if trimmed.hasSuffix(unit) { trimmed.removeLast(unit.count) }
        return Double(trimmed.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func mebibytes(_ text: String?, field: String, line: Int) throws(ParseError) -> Int64? {
        guard let text else { return nil }
        guard let value = number(text, unit: "MiB"), value >= 0 else {
            throw ParseError(message: "line \(line): \(field) \"\(text)\" is not a size in MiB")
        }
        return Int64(value * 1_048_576)
    }

    private static func percent(_ text: String?, line: Int) throws(ParseError) -> Double? {
        guard let text else { return nil }
        guard let value = number(text, unit: "%"), value >= 0 else {
            throw ParseError(message: "line \(line): utilization.gpu \"\(text)\" is not a percentage")
        }
        return value
    }
}
