import AllotCLI
import AllotCore
import AllotStorage
import ArgumentParser
import Foundation
import Synchronization

/// `allot data ls|sync`.
public struct DataCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Object storage: list, and sync between s3://, gs:// and local directories.",
        subcommands: [DataListCommand.self, DataSyncCommand.self]
    )

    public init() {}
}

/// The store a URL names, its credentials and endpoint from the environment.
func objectStore(_ text: String) throws -> any ObjectStore { try StorageURL.open(text) }

/// `allot data ls URL`.
public struct DataListCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the objects under s3://B/P, gs://B/P or a directory.")

    @Argument(help: "s3://bucket/prefix, gs://bucket/prefix or a local directory.") public var url: String
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func run() async throws {
        let objects = try await objectStore(url).list()
        if output.output == .json {
            print(try JSONOutput.render(objects))
            return
        }
        var table = TextTable(["KEY", "SIZE", "MD5"])
        for object in objects { table.add([object.key, Quantity.formatBytes(object.size), object.md5 ?? "-"]) }
        print(table.render())
        print("\(objects.count) objects, \(Quantity.formatBytes(objects.map(\.size).reduce(0, +)))")
    }
}

/// `allot data sync SRC DST [--jobs N] [--delete] [--dry-run]`.
public struct DataSyncCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Make DST hold what SRC holds: copy what is missing or differs by size or MD5, verified; resumable."
    )

    @Argument(help: "The source: s3://bucket/prefix, gs://bucket/prefix or a directory.") public var source: String
    @Argument(help: "The destination, likewise.") public var destination: String
    @Option(help: "Objects copied at once.") public var jobs: Int = 16
    @Flag(name: .customLong("delete"), help: "Delete what the source does not have.") public var deleteExtra = false
    @Flag(name: .customLong("dry-run"), help: "List what would be done, do nothing.") public var dryRun = false
    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.") public var noProgress = false
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard (1...1_024).contains(jobs) else { throw ValidationError("--jobs: 1 to 1024") }
    }

    public func run() async throws {
        let syncer = Syncer(source: try objectStore(source), destination: try objectStore(destination), jobs: jobs, deleteExtra: deleteExtra)
        let bar = ProgressLine(enabled: !noProgress && !dryRun)
        let summary = try await syncer.run(dryRun: dryRun) { bar.show($0) }
        bar.end()
        if output.output == .json {
            print(try JSONOutput.render(summary))
        } else {
            if dryRun {
                var table = TextTable(["ACTION", "KEY", "SIZE", "WHY"])
                for action in summary.actions { table.add([action.kind.rawValue, action.key, Quantity.formatBytes(action.size), action.reason]) }
                print(table.render())
            }
            var table = TextTable(["COPIED", "SKIPPED", "DELETED", "FAILED", "BYTES", "SECONDS", "MB/S"])
            table.add([
                "\(summary.copied)", "\(summary.skipped)", "\(summary.deleted)", "\(summary.failed.count)", Quantity.formatBytes(summary.bytes),
                String(format: "%.2f", summary.seconds), String(format: "%.1f", summary.megabytesPerSecond),
            ])
            print(table.render())
            for (key, error) in summary.failed.sorted(by: { $0.key < $1.key }) { print(TextTable.printable("failed \(key): \(error)")) }
        }
        if !summary.failed.isEmpty { throw ExitCode(1) }
    }
}

/// One progress line on stderr: bytes, objects, rate and ETA, at most ten times a second.
final class ProgressLine: Sendable {
    let enabled: Bool
    private let state = Mutex((started: ContinuousClock.now, shown: ContinuousClock.now - .seconds(1), printed: false))

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ progress: SyncProgress) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let line: String? = state.withLock { state in
            guard now - state.shown >= .milliseconds(100) || progress.objectsDone == progress.objects else { return nil }
            state.shown = now
            state.printed = true
            let seconds = (now - state.started).inSeconds
            let rate = seconds > 0 ? Double(progress.bytesDone) / seconds : 0
            let fraction = progress.bytes > 0 ? Double(progress.bytesDone) / Double(progress.bytes) : 1
            let width = 24
            let filled = Int((fraction * Double(width)).rounded(.down))
            let eta = rate > 0 ? Double(progress.bytes - progress.bytesDone) / rate : 0
            return "\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
                + "\(Quantity.formatBytes(progress.bytesDone))/\(Quantity.formatBytes(progress.bytes)) "
                + "\(progress.objectsDone)/\(progress.objects) objects "
                + String(format: "%.1f MB/s ETA %.0fs ", rate / 1_000_000, eta)
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    func end() {
        if enabled && state.withLock({ $0.printed }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
