import AllotAWS
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

extension S3Store {
    /// Resumes the newest multipart upload already started for this key (an earlier run killed mid-way), or
    /// starts one, with the object's MD5 in its metadata.
    public func upload(_ key: String, size: Int64, md5: String) async throws(StorageError) -> any UploadSession {
        let fullKey = prefix + key
        let listing = try await send(.GET, key: nil, query: [("prefix", fullKey), ("uploads", "")])
        if let root = AWSXMLElement.parse(Data(listing.body.readableBytesView)) {
            let open = root.children.filter { $0.name == "Upload" && $0.value("Key") == fullKey }
            if let id = open.last?.value("UploadId") {
                let parts = try await storedParts(fullKey, uploadId: id)
                return S3Upload(store: self, key: key, uploadId: id, size: size, md5: md5, parts: parts)
            }
        }
        let created = try await send(.POST, key: fullKey, query: [("uploads", "")], headers: [("x-amz-meta-allot-md5", md5)])
        guard let id = AWSXMLElement.parse(Data(created.body.readableBytesView))?.value("UploadId") else {
            throw StorageError(code: "InvalidResponse", message: "CreateMultipartUpload for \(fullKey) answered no UploadId")
        }
        return S3Upload(store: self, key: key, uploadId: id, size: size, md5: md5, parts: [:])
    }

    /// The parts S3 already holds for an upload: number → ETag.
    func storedParts(_ fullKey: String, uploadId: String) async throws(StorageError) -> [Int: String] {
        var parts: [Int: String] = [:]
        var marker: String?
        repeat {
            var query = [("uploadId", uploadId)]
            if let marker { query.append(("part-number-marker", marker)) }
            let response = try await send(.GET, key: fullKey, query: query)
            guard let root = AWSXMLElement.parse(Data(response.body.readableBytesView)) else { break }
            for part in root.children where part.name == "Part" {
                if let number = part.value("PartNumber").flatMap({ Int($0) }), let etag = part.value("ETag") { parts[number] = etag }
            }
            marker = root.value("IsTruncated") == "true" ? root.value("NextPartNumberMarker") : nil
        } while marker != nil
        return parts
    }
}

/// A multipart upload: parts sent with their `Content-MD5`, completed with the list of ETags.
final class S3Upload: UploadSession {
    let store: S3Store
    let key: String
    let uploadId: String
    let size: Int64
    let md5: String
    private let parts: Mutex<[Int: String]>

    init(store: S3Store, key: String, uploadId: String, size: Int64, md5: String, parts: [Int: String]) {
        self.store = store
        self.key = key
        self.uploadId = uploadId
        self.size = size
        self.md5 = md5
        self.parts = Mutex(parts)
    }

    var storedParts: Set<Int> { get async { Set(parts.withLock { $0.keys }) } }

    func upload(part number: Int, offset: Int64, _ data: ByteBuffer) async throws(StorageError) {
        var digest = MD5Digest()
        digest.update(data)
        let response = try await store.send(
            .PUT,
            key: store.prefix + key,
            query: [("partNumber", String(number)), ("uploadId", uploadId)],
            headers: [("Content-MD5", digest.base64)],
            body: data
        )
        guard let etag = response.headers.first(name: "ETag") else {
            throw StorageError(code: "InvalidResponse", message: "UploadPart \(number) of \(key) answered no ETag")
        }
        parts.withLock { $0[number] = etag }
    }

    func finish() async throws(StorageError) -> StoredObject {
        let sorted = parts.withLock { $0.sorted { $0.key < $1.key } }
        let body =
            "<CompleteMultipartUpload>"
            + sorted.map { "<Part><PartNumber>\($0.key)</PartNumber><ETag>\($0.value)</ETag></Part>" }.joined()
            + "</CompleteMultipartUpload>"
        let response = try await store.send(.POST, key: store.prefix + key, query: [("uploadId", uploadId)], body: ByteBuffer(string: body))
        // S3 may answer 200 with an error in the body.
        let root = AWSXMLElement.parse(Data(response.body.readableBytesView))
        if let root, root.name == "Error" {
            throw StorageError(code: root.value("Code") ?? "CompleteFailed", message: root.value("Message") ?? "CompleteMultipartUpload failed")
        }
        // A multipart ETag is the MD5 of the parts' MD5s and their count: check S3 assembled what was sent.
        var digest = MD5Digest()
        for (_, etag) in sorted {
            digest.update(ByteBuffer(bytes: Self.bytes(hex: etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))))
        }
        let expected = "\(digest.hex)-\(sorted.count)"
        if let stored = root?.value("ETag")?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")), stored != expected {
            throw StorageError(code: "ChecksumMismatch", message: "\(store.url)\(key): assembled as \(stored), parts give \(expected)")
        }
        return StoredObject(key: key, size: size, md5: md5)
    }

    static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }

    func abort() async {
        _ = try? await store.send(.DELETE, key: store.prefix + key, query: [("uploadId", uploadId)], expect: [200, 204])  // best effort
    }
}
