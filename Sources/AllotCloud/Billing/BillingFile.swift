import AllotAPI
import Foundation

/// A provider's cost file read into billed rows, one per UTC day, resource and service (repeats summed).
///
/// - **FOCUS 1.0** (as AWS Data Exports, Azure's and Google's FOCUS exports write it): `ChargePeriodStart`,
///   `BilledCost`, `BillingCurrency`, `ResourceId` (else `ResourceName`), `ServiceName`, `ProviderName`.
/// - **GCP's billing export** as CSV: `usage_start_time`, `cost`, `currency`, `service.description`,
///   `resource.global_name` (else `resource.name`), and `credits` (a JSON list whose `amount`s are added, as
///   Google's own queries do to get the net cost).
public enum BillingFile {
    public enum Format: String, Sendable, CaseIterable {
        case focus
        case gcpExport = "gcp-export"

        /// The source name its rows carry.
        public var source: String { self == .focus ? "focus" : "gcp-billing-export" }
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Which format a header is: FOCUS's `BilledCost` and `ChargePeriodStart`, or GCP's `usage_start_time`.
    public static func detect(_ table: CSVTable) -> Format? {
        let columns = Set(table.header.map { $0.trimmingCharacters(in: .whitespaces) })
        if columns.isSuperset(of: ["BilledCost", "ChargePeriodStart"]) { return .focus }
        if columns.isSuperset(of: ["usage_start_time", "cost"]) { return .gcpExport }
        return nil
    }

    /// Reads a CSV's text; the format comes from its header unless given.
    public static func rows(_ text: String, format given: Format? = nil) throws(Failure) -> [BilledCost] {
        let table = CSVTable(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        guard let format = given ?? detect(table) else {
            throw Failure("not a FOCUS 1.0 file (BilledCost, ChargePeriodStart) or a GCP billing export (usage_start_time, cost)")
        }
        var rows: [BilledCost] = []
        for (index, record) in table.records.enumerated() {
            let line = index + 2
            switch format {
            case .focus:
                guard let day = day(record["ChargePeriodStart"]) else { throw Failure("line \(line): ChargePeriodStart is not a time") }
                guard let cost = Double(record["BilledCost"] ?? "") else { throw Failure("line \(line): BilledCost is not a number") }
                let resource = nonEmpty(record["ResourceId"]) ?? nonEmpty(record["ResourceName"]) ?? ""
                rows.append(
                    BilledCost(
                        source: format.source,
                        day: day,
                        resource: resource,
                        service: record["ServiceName"] ?? "",
                        cloud: cloud(record["ProviderName"] ?? ""),
                        cost: cost,
                        currency: nonEmpty(record["BillingCurrency"]) ?? "USD"
                    )
                )
            case .gcpExport:
                guard let day = day(record["usage_start_time"]) else { throw Failure("line \(line): usage_start_time is not a time") }
                guard var cost = Double(record["cost"] ?? "") else { throw Failure("line \(line): cost is not a number") }
                cost += try credits(record["credits"], line: line)
                let resource = nonEmpty(record["resource.global_name"]) ?? nonEmpty(record["resource.name"]) ?? ""
                rows.append(
                    BilledCost(
                        source: format.source,
                        day: day,
                        resource: resource,
                        service: record["service.description"] ?? "",
                        cloud: "gcp",
                        cost: cost,
                        currency: nonEmpty(record["currency"]) ?? "USD"
                    )
                )
            }
        }
        return BilledCost.merged(rows)
    }

    /// The UTC day of a timestamp: `2026-11-03T00:00:00Z`, with fractional seconds or an offset
    /// (`2026-11-02T16:00:00-08:00`), `2026-11-03 00:00:00 UTC`, or a bare date.
    static func day(_ text: String?) -> String? {
        guard var text = text?.trimmingCharacters(in: .whitespaces), text.count >= 10 else { return nil }
        if text.hasSuffix(" UTC") { text = String(text.dropLast(4)) }
        text = text.replacingOccurrences(of: " ", with: "T")
        if text.hasSuffix("Z") { text = String(text.dropLast()) }
        var offset = 0.0
        let characters = Array(text)
        if characters.count >= 16, characters[characters.count - 3] == ":", "+-".contains(characters[characters.count - 6]),
            let hours = Int(String(characters[(characters.count - 5)...(characters.count - 4)])),
            let minutes = Int(String(characters[(characters.count - 2)...]))
        {
            offset = Double(hours * 3_600 + minutes * 60) * (characters[characters.count - 6] == "-" ? -1 : 1)
            text = String(characters.dropLast(6))
        }
        if let dot = text.firstIndex(of: ".") { text = String(text[..<dot]) }
        guard let time = CostDates.parse(text) else { return nil }
        return CostDates.day(time - offset)
    }

    /// The sum of a GCP `credits` cell's amounts (a JSON list; empty when none).
    static func credits(_ text: String?, line: Int) throws(Failure) -> Double {
        guard let text = nonEmpty(text), text != "[]" else { return 0 }
        guard let list = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] else {  // not JSON: refused below
            throw Failure("line \(line): credits is not a JSON list")
        }
        return list.reduce(0) { $0 + (($1["amount"] as? NSNumber)?.doubleValue ?? 0) }
    }

    static func cloud(_ provider: String) -> String {
        let name = provider.lowercased()
        if name.contains("amazon") || name.hasPrefix("aws") { return "aws" }
        if name.contains("google") || name == "gcp" { return "gcp" }
        if name.contains("microsoft") || name.contains("azure") { return "azure" }
        return name.isEmpty ? "unknown" : name
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }
}
