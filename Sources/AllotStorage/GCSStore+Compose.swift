import AllotAPI
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

extension GCSStore {
    /// Where the parts of unfinished composite uploads live, under the bucket's root; listings skip it.
    static let partsRoot = ".allot-parts/"
    /// Most sources one `compose` takes.
    static let composeLimit = 32

    /// A parallel composite upload: each part is an object of its own under ``partsRoot`` (written whole,
    /// checked against its MD5), and `compose` joins them into the object only when all are in, so nothing is
    /// ever visible under the final name half-written. The parts' names come from the object's name and MD5:
    /// a run after a kill finds the parts already there and sends only the rest. The whole is checked against
    /// the parts: by MD5 where the server gives one, else by the CRC32C of the parts combined.
    public func upload(_ key: String, size: Int64, md5: String) async throws(StorageError) -> any UploadSession {
        let digest = Hex.encode(SHA256.hash(data: Data("\(bucket)\n\(prefix + key)\n\(size)\n\(md5)".utf8)))
        return GCSCompositeUpload(store: self, key: key, size: size, md5: md5, parts: Self.partsRoot + digest.prefix(32) + "/")
    }

    /// Joins `sources` (full names) into `name`; the new object's description as GCS answered it.
    func compose(_ sources: [String], into name: String, metadata: [String: String]) async throws(StorageError) -> [String: Any] {
        let body: [String: Any] = [
            "sourceObjects": sources.map { ["name": $0] },
            "destination": ["contentType": "application/octet-stream", "metadata": metadata],
        ]
        let url = "\(endpoint)/storage/v1/b/\(Self.encode(bucket))/o/\(Self.encode(name))/compose"
        let response = try await send(.POST, url, headers: [("Content-Type", "application/json")], body: ByteBuffer(string: try Self.json(body)))
        guard let json = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] else {  // refused below
            throw StorageError(code: "InvalidResponse", message: "compose into \(name) did not answer JSON")
        }
        return json
    }

    /// Deletes objects by full name, a few at a time; one already gone is fine.
    func deleteNames(_ names: [String]) async {
        await withTaskGroup(of: Void.self) { group in
            for (index, name) in names.enumerated() {
                if index >= 8 { await group.next() }
                group.addTask {
                    // Best effort: a part left behind is only storage, and the next run of the same object reuses it.
                    _ = try? await self.send(
                        .DELETE,
                        "\(self.endpoint)/storage/v1/b/\(Self.encode(self.bucket))/o/\(Self.encode(name))",
                        expect: [200, 204, 404]
                    )
                }
            }
        }
    }
}

/// The parts of one large object on their way into GCS, with each stored part's CRC32C and length.
final class GCSCompositeUpload: UploadSession {
    let store: GCSStore
    let key: String
    let size: Int64
    let md5: String
    /// The full-name prefix of this object's parts.
    let parts: String
    private let stored = Mutex<[Int: (crc: UInt32, length: Int64)]>([:])

    init(store: GCSStore, key: String, size: Int64, md5: String, parts: String) {
        self.store = store
        self.key = key
        self.size = size
        self.md5 = md5
        self.parts = parts
    }

    var count: Int { Int((size + store.partSize - 1) / store.partSize) }

    func length(of part: Int) -> Int64 { min(store.partSize, size - Int64(part - 1) * store.partSize) }

    static func name(_ part: Int) -> String { String(format: "%05d", part) }

    /// Parts an earlier run stored whole (each was checked against its MD5 when written).
    var storedParts: Set<Int> {
        get async {
            // A listing that fails resumes nothing: every part is sent again.
            guard let items = try? await store.items(under: parts) else { return [] }
            var found: [Int: (UInt32, Int64)] = [:]
            for item in items {
                guard let name = item["name"] as? String, let part = Int(name.dropFirst(parts.count)), (1...count).contains(part),
                    let crc = (item["crc32c"] as? String).flatMap(CRC32C.parse(base64:)),
                    Int64(item["size"] as? String ?? "") == length(of: part)
                else { continue }
                found[part] = (crc, length(of: part))
            }
            stored.withLock { $0.merge(found) { _, new in new } }
            return Set(found.keys)
        }
    }

    func upload(part number: Int, offset: Int64, _ data: ByteBuffer) async throws(StorageError) {
        let partMD5 = MD5Digest.hex(of: data)
        let json = try await store.put(name: parts + Self.name(number), data, md5: partMD5, metadata: [:])
        guard let crc = (json["crc32c"] as? String).flatMap(CRC32C.parse(base64:)) else {
            throw StorageError(code: "NoChecksum", message: "\(store.url)\(key): part \(number) came back without a CRC32C")
        }
        stored.withLock { $0[number] = (crc, Int64(data.readableBytes)) }
    }

    func finish() async throws(StorageError) -> StoredObject {
        let pieces = stored.withLock { $0 }
        guard (1...count).allSatisfy({ pieces[$0] != nil }) else {
            throw StorageError(code: "Incomplete", message: "\(store.url)\(key): not every part is stored")
        }
        // Joined 32 at a time, level by level, into intermediate objects beside the parts, then into the object.
        var sources = (1...count).map { parts + Self.name($0) }
        var made: [String] = []
        var level = 0
        while sources.count > GCSStore.composeLimit {
            var next: [String] = []
            for (index, start) in stride(from: 0, to: sources.count, by: GCSStore.composeLimit).enumerated() {
                let name = parts + "c\(level)-\(index)"
                _ = try await store.compose(Array(sources[start..<min(sources.count, start + GCSStore.composeLimit)]), into: name, metadata: [:])
                next.append(name)
            }
            made += next
            sources = next
            level += 1
        }
        let json = try await store.compose(sources, into: store.prefix + key, metadata: ["allot-md5": md5])
        // GCS keeps no MD5 for a composite object (an emulator may): then its CRC32C must be the parts' combined.
        if let stored = (json["md5Hash"] as? String).flatMap(MD5Digest.hex(base64:)) {
            guard stored == md5 else {
                throw StorageError(code: "ChecksumMismatch", message: "\(store.url)\(key): composed as \(stored), sent \(md5)")
            }
        } else {
            let expected = (1...count).reduce(nil as UInt32?) { crc, part in
                let piece = pieces[part]!
                return crc.map { CRC32C.combine($0, piece.crc, length: piece.length) } ?? piece.crc
            }
            guard let got = (json["crc32c"] as? String).flatMap(CRC32C.parse(base64:)), got == expected else {
                throw StorageError(code: "ChecksumMismatch", message: "\(store.url)\(key): the composed object's CRC32C is not its parts'")
            }
        }
        await store.deleteNames((1...count).map { parts + Self.name($0) } + made)
        return StoredObject(key: key, size: size, md5: md5)
    }

    func abort() async {
        // Best effort, as above.
        let names = ((try? await store.items(under: parts)) ?? []).compactMap { $0["name"] as? String }
        await store.deleteNames(names)
    }
}
