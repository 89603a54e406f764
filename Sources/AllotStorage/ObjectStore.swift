import Foundation
import NIOCore

/// One object under a store's prefix.
public struct StoredObject: Sendable, Equatable, Codable {
    /// Its name relative to the store's prefix (`images/cat 1.jpg`).
    public var key: String
    public var size: Int64
    /// Hex MD5 of the content, when the store knows it (S3's ETag of a single-part object, GCS's `md5Hash`,
    /// a local file's computed digest, or the digest Allot recorded in the object's metadata).
    public var md5: String?
    public var modified: Date?

    public init(key: String, size: Int64, md5: String? = nil, modified: Date? = nil) {
        self.key = key
        self.size = size
        self.md5 = md5
        self.modified = modified
    }
}

/// A store refused or failed, with its own code where it gave one.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var retryable: Bool

    public init(code: String, message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(code): \(message)" }
}

/// A large object being written in parts; parts may arrive in any order and be sent again.
public protocol UploadSession: Sendable {
    /// Part `number` (from 1), which starts at `offset`; every part but the last is the store's part size.
    func upload(part number: Int, offset: Int64, _ data: ByteBuffer) async throws(StorageError)
    /// Makes the object visible under its name.
    func finish() async throws(StorageError) -> StoredObject
    func abort() async
    /// The parts already stored by an earlier run (a resumed upload), by number.
    var storedParts: Set<Int> { get async }
}

/// A place objects live: an S3 bucket and prefix, a GCS bucket and prefix, a local directory.
public protocol ObjectStore: Sendable {
    /// `s3://bucket/prefix`, `gs://bucket/prefix` or a path.
    var url: String { get }
    /// Bytes per part of a large upload; objects up to this size are written in one request.
    var partSize: Int64 { get }
    /// Every object under the prefix.
    func list() async throws(StorageError) -> [StoredObject]
    /// An object's bytes, or those in `range`.
    func read(_ key: String, range: Range<Int64>?) async throws(StorageError) -> ByteBuffer
    /// The whole object in one pass, piece by piece as it arrives (the reader's pace holds the sender back).
    func chunks(_ key: String, size: Int64) async throws(StorageError) -> any AsyncSequence<ByteBuffer, any Error>
    /// Writes a small object whole; nothing is visible under `key` until it is complete.
    func write(_ key: String, _ data: ByteBuffer, md5: String) async throws(StorageError) -> StoredObject
    /// Starts (or resumes) writing a large object in parts.
    func upload(_ key: String, size: Int64, md5: String) async throws(StorageError) -> any UploadSession
    func delete(_ key: String) async throws(StorageError)
    /// The object's MD5 when its listing lacked one (a multipart S3 object written by Allot keeps it in metadata).
    func md5(of object: StoredObject) async throws(StorageError) -> String?
}

/// `s3://bucket/prefix`, `gs://bucket/prefix`, or a local path.
public enum StorageURL: Sendable, Equatable {
    case s3(bucket: String, prefix: String)
    case gcs(bucket: String, prefix: String)
    case local(path: String)

    public static func parse(_ text: String) throws(StorageError) -> StorageURL {
        for (scheme, make) in [("s3://", { StorageURL.s3(bucket: $0, prefix: $1) }), ("gs://", { StorageURL.gcs(bucket: $0, prefix: $1) })]
        where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let bucket = String(rest.prefix { $0 != "/" })
            guard !bucket.isEmpty else { throw StorageError(code: "InvalidURL", message: "\(text): no bucket") }
            var prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
            if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
            return make(bucket, prefix)
        }
        guard !text.contains("://") else { throw StorageError(code: "InvalidURL", message: "\(text): use s3://, gs:// or a local path") }
        return .local(path: text)
    }
}

extension ObjectStore {
    /// By default: ranged reads of one part each, one after the other.
    public func chunks(_ key: String, size: Int64) async throws(StorageError) -> any AsyncSequence<ByteBuffer, any Error> {
        RangedChunks(store: self, key: key, size: size, step: max(1, partSize))
    }
}

/// An object read as a sequence of ranged reads.
struct RangedChunks: AsyncSequence {
    typealias Element = ByteBuffer
    let store: any ObjectStore
    let key: String
    let size: Int64
    let step: Int64

    struct AsyncIterator: AsyncIteratorProtocol {
        let chunks: RangedChunks
        var offset: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard offset < chunks.size else { return nil }
            let end = Swift.min(chunks.size, offset + chunks.step)
            let data = try await chunks.store.read(chunks.key, range: offset..<end)
            offset = end
            return data
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: self) }
}
