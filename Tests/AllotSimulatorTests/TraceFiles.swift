import Foundation

/// The traces shipped in `data/traces/`, found from this file's place in the repository.
enum TraceFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/traces")

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static let philly = "philly/philly_jobs.csv"
    static let philly100 = "philly/subsets/philly100_2017-10-03.csv"
    static let alibaba = "alibaba-dlrm-v2025/disaggregated_DLRM_trace.csv"
}
