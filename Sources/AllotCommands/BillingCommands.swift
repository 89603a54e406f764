import AllotAPI
import AllotAWS
import AllotCLI
import AllotClient
import AllotCloud
import AllotStorage
import ArgumentParser
import Foundation
import NIOCore

/// `allot billing import`.
public struct BillingCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "billing",
        abstract: "The providers' own bills, kept beside Allot's estimate (`allot cost --source both`).",
        subcommands: [BillingImportCommand.self]
    )

    public init() {}
}

/// `allot billing import FILE|s3://…|gs://…` or `allot billing import --cost-explorer --from D --to D`.
public struct BillingImportCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Import billed costs: a FOCUS 1.0 or GCP billing export CSV (or .csv.gz; a file, an object or every one under a prefix), or AWS Cost Explorer.",
        discussion: """
            Rows are kept per day, resource and service; importing the same file again changes nothing. Cost Explorer \
            uses the AWS credentials and endpoint of the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
            AWS_ENDPOINT_URL); gs:// uses STORAGE_EMULATOR_HOST or GOOGLE_APPLICATION_CREDENTIALS like `allot data`.
            """
    )

    @Argument(help: "A CSV or CSV.gz file, an s3:// or gs:// object, or a prefix ending in / (every .csv and .csv.gz under it).")
    public var location: String?
    @Option(help: "focus or gcp-export (found from the header by default).") public var format: String?
    @Flag(name: .customLong("cost-explorer"), help: "Read AWS Cost Explorer's GetCostAndUsage instead of a file.") public var costExplorer = false
    @Option(help: "With --cost-explorer: the first day (YYYY-MM-DD).") public var from: String?
    @Option(help: "With --cost-explorer: the day after the last (YYYY-MM-DD).") public var to: String?
    @Option(name: .customLong("group-by"), help: "With --cost-explorer: resource, service or tag:KEY (a tag whose value names the node).")
    public var groupBy: String = "resource"
    @Option(help: "With --cost-explorer: the metric (UnblendedCost, NetUnblendedCost, AmortizedCost…).") public var metric: String = "UnblendedCost"
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    /// Rows sent per request (well under the server's 1 MiB body limit).
    static let batch = 500

    public func validate() throws {
        if costExplorer {
            guard location == nil else { throw ValidationError("give a file or --cost-explorer, not both") }
            for (name, value) in [("--from", from), ("--to", to)] {
                guard let value, value.count == 10, CostDates.parse(value) != nil else { throw ValidationError("\(name): required, YYYY-MM-DD") }
            }
            guard CostExplorerClient.Grouping(groupBy) != nil else { throw ValidationError("--group-by: resource, service or tag:KEY") }
        } else {
            guard location != nil else { throw ValidationError("give a file, an s3:// or gs:// URL, or --cost-explorer") }
            if let format, BillingFile.Format(rawValue: format) == nil { throw ValidationError("--format: focus or gcp-export") }
        }
    }

    public func run() async throws {
        let rows: [BilledCost]
        if costExplorer {
            guard let credentials = AWSCredentials.fromEnvironment() else {
                throw CommandFailure("AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            let explorer = CostExplorerClient(credentials: credentials, endpoint: CostExplorerClient.endpoint())
            do {
                rows = try await explorer.billedCosts(start: from!, end: to!, grouping: CostExplorerClient.Grouping(groupBy)!, metric: metric)
            } catch {
                throw CommandFailure("Cost Explorer: \(error)")
            }
        } else {
            var all: [BilledCost] = []
            for (name, data) in try await Self.read(location!) {
                let text = String(
                    decoding: name.hasSuffix(".gz") || data.starts(with: [0x1f, 0x8b]) ? try Self.gunzip(data, name: name) : data,
                    as: UTF8.self
                )
                do { all += try BillingFile.rows(text, format: format.flatMap(BillingFile.Format.init(rawValue:))) } catch {
                    throw CommandFailure("\(name): \(error)")
                }
            }
            rows = BilledCost.merged(all)
        }
        let client = try client.client()
        var result = BillingImportResult()
        for start in stride(from: 0, to: rows.count, by: Self.batch) {
            let part = Array(rows[start..<min(rows.count, start + Self.batch)])
            result.add(try await withClientErrors { try await client.importBilling(part) })
        }
        if output.output == .json { return print(try JSONOutput.render(result)) }
        var table = TextTable(["ROWS", "ADDED", "CHANGED", "UNCHANGED", "MATCHED TO NODES", "UNMATCHED"])
        table.add(["\(rows.count)", "\(result.added)", "\(result.changed)", "\(result.unchanged)", "\(result.matched)", "\(result.unmatched)"])
        print(table.render())
    }

    /// Every file a location names: one file or object, or each `.csv`/`.csv.gz` under a directory or prefix.
    static func read(_ location: String) async throws -> [(name: String, data: Data)] {
        func wanted(_ key: String) -> Bool { key.hasSuffix(".csv") || key.hasSuffix(".csv.gz") }
        switch try StorageURL.parse(location) {
        case .local(let path):
            var directory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else { throw CommandFailure("\(path): no such file") }
            if !directory.boolValue {
                guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
                return [(path, data)]
            }
            let store = LocalStore(root: path)
            var files: [(String, Data)] = []
            for object in try await store.list() where wanted(object.key) {
                files.append((path + "/" + object.key, Data(try await store.read(object.key, range: nil).readableBytesView)))
            }
            return files
        case .s3(let bucket, _), .gcs(let bucket, _):
            let scheme = location.hasPrefix("s3://") ? "s3://" : "gs://"
            let key = String(location.dropFirst(scheme.count + bucket.count).drop { $0 == "/" })
            if !key.isEmpty && !key.hasSuffix("/") {
                let store = try objectStore(scheme + bucket)
                return [(location, Data(try await store.read(key, range: nil).readableBytesView))]
            }
            let store = try objectStore(location)
            var files: [(String, Data)] = []
            for object in try await store.list() where wanted(object.key) {
                files.append((store.url + object.key, Data(try await store.read(object.key, range: nil).readableBytesView)))
            }
            guard !files.isEmpty else { throw CommandFailure("\(location): no .csv or .csv.gz objects") }
            return files
        }
    }

    /// A gzip stream inflated by the system's `gzip`.
    static func gunzip(_ data: Data, name: String) throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("allot-billing-\(UUID().uuidString).gz").path
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CommandFailure("cannot write \(path)")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }  // a temporary copy; the system cleans up what is left
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-dc", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CommandFailure("\(name): not a readable gzip file") }
        return output
    }
}
