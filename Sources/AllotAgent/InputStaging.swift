import AllotAPI
import AllotStorage
import Foundation

/// Copies a job's inputs onto the node, each into its own directory, and says where each landed: an
/// `s3://` or `gs://` prefix (ending in `/`, or naming no single object) becomes a directory of its objects,
/// a single object a file in its directory; a local path is used where it is. Copies are verified and
/// incremental, so a staging that is started again (the agent restarted) resumes.
enum InputStaging {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The paths, one per input; `progress` gets (bytes copied, bytes in all) as they arrive.
    static func stage(
        _ inputs: [JobInput],
        into directory: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        progress: @escaping @Sendable (Int64, Int64) async -> Void
    ) async throws -> [String] {
        var paths: [String] = []
        var copied: Int64 = 0
        var declaredLeft = inputs.reduce(Int64(0)) { $0 + ($1.bytes ?? 0) }
        for (index, input) in inputs.enumerated() {
            declaredLeft -= input.bytes ?? 0
            if input.url.hasPrefix("/") {
                guard FileManager.default.fileExists(atPath: input.url) else { throw Failure(description: "\(input.url): no such file or directory") }
                paths.append(input.url)
                continue
            }
            let target = directory + "/\(index)"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            let scheme = String(input.url.prefix(5))
            let rest = input.url.dropFirst(5)
            let bucket = String(rest.prefix { $0 != "/" })
            let key = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
            var syncer: Syncer
            var path = target
            let name = key.split(separator: "/").last.map(String.init) ?? ""
            let parent = String(key.dropLast(name.count))
            let siblings = key.isEmpty || key.hasSuffix("/") ? nil : try StorageURL.open(scheme + bucket + "/" + parent, environment: environment)
            if let siblings, try await siblings.list().contains(where: { $0.key == name }) {
                syncer = Syncer(source: siblings, destination: LocalStore(root: target), jobs: 4)
                syncer.only = [name]
                path = target + "/" + name
            } else {
                syncer = Syncer(source: try StorageURL.open(input.url, environment: environment), destination: LocalStore(root: target), jobs: 8)
            }
            // What the input holds, and what an earlier try already put there.
            let planned = try await syncer.plan()
            let size = planned.reduce(Int64(0)) { $0 + $1.size }
            let present = planned.filter { $0.kind == .skip }.reduce(Int64(0)) { $0 + $1.size }
            guard !planned.isEmpty else { throw Failure(description: "\(input.url): no such object or prefix") }
            let (done, all) = (copied + present, copied + size + declaredLeft)
            let summary = try await syncer.run { step in
                let bytesDone = step.bytesDone
                Task { await progress(done + bytesDone, all) }
            }
            if let (key, reason) = summary.failed.first { throw Failure(description: "\(input.url): \(key): \(reason)") }
            copied += size
            await progress(copied, copied + declaredLeft)
            paths.append(path)
        }
        return paths
    }
}
