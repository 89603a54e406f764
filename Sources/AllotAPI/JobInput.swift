import AllotCore

/// Data a job reads, staged onto its node before it starts: an `s3://`, `gs://` or local object or prefix,
/// and optionally its size (for placement and progress; the agent measures what it copies either way).
public struct JobInput: Codable, Equatable, Sendable {
    public var url: String
    public var bytes: Int64?

    public init(url: String, bytes: Int64? = nil) {
        self.url = url
        self.bytes = bytes
    }

    /// Most inputs a job may declare.
    public static let maxCount = 16

    /// Reads `URL[:SIZE]` (`s3://lake/clips/:5TB`): the size after the last `:` when it reads as one.
    public static func parse(_ text: String) throws(InputError) -> JobInput {
        var url = text
        var bytes: Int64?
        if let colon = text.lastIndex(of: ":"), text[text.index(after: colon)...].first?.isNumber == true {
            do {
                bytes = try Quantity.bytes(String(text[text.index(after: colon)...]), field: "inputs")
                url = String(text[..<colon])
            } catch {
                throw InputError(path: "inputs", "\(text): the size after ':' is not a size (\(error.reason))")
            }
        }
        return try JobInput(checking: url, bytes: bytes)
    }

    /// Checks the URL's scheme and the size.
    public init(checking url: String, bytes: Int64?) throws(InputError) {
        let remote = (url.hasPrefix("s3://") || url.hasPrefix("gs://")) && url.count > 5 && url.dropFirst(5).first != "/"
        let local = url.hasPrefix("/") && url.count > 1
        guard remote || local, url.count <= 2_048 else {
            throw InputError(path: "inputs", "\(url): expected s3://BUCKET/KEY, gs://BUCKET/KEY or an absolute path on the node")
        }
        guard !url.contains("\u{0}"), (bytes ?? 0) >= 0 else { throw InputError(path: "inputs", "\(url): invalid") }
        self.url = url
        self.bytes = bytes
    }
}

/// How far a job's inputs are copied onto its node.
public struct StagingProgress: Codable, Equatable, Sendable {
    public var bytesDone: Int64
    /// What the inputs hold, once listed (the declared sizes before that).
    public var bytes: Int64

    public init(bytesDone: Int64, bytes: Int64) {
        self.bytesDone = bytesDone
        self.bytes = bytes
    }
}
