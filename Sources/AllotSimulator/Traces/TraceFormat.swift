/// The trace formats Allot reads.
public enum TraceFormat: String, Sendable, CaseIterable, Equatable {
    case philly
    case pollux
    case alibabaDLRM = "alibaba-dlrm"
    case allot

    /// Reads `text` in this format.
    public func read(_ text: String, defaults: TraceDefaults = TraceDefaults()) throws(TraceError) -> Trace {
        switch self {
        case .philly: return try PhillyTrace.read(text, defaults: defaults)
        case .pollux: return try PolluxWorkload.read(text, defaults: defaults)
        case .alibabaDLRM: return try AlibabaDLRMTrace.read(text)
        case .allot: return try AllotTrace.read(text, defaults: defaults)
        }
    }

    /// Guesses the format from the header line; `nil` when it is none of the known ones.
    public static func detect(_ text: String) -> TraceFormat? {
        let header = text.prefix { $0 != "\n" }
        if header.hasPrefix("{") { return .allot }
        let columns = Set(header.split(separator: ",").map { String($0).trimmingSpaces() })
        if columns.contains("num_gpus") && (columns.contains("cluster") || columns.contains("vc")) { return .philly }
        if columns.contains("application") && columns.contains("num_replicas") { return .pollux }
        if columns.contains("instance_sn") && columns.contains("gpu_request") { return .alibabaDLRM }
        if columns.contains("submit") && columns.contains("duration") { return .allot }
        return nil
    }
}
