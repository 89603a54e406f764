import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

extension GCSStore {
    /// Resumes the resumable session an earlier run left for this object (its URI kept in the state directory),
    /// or opens one; the object becomes visible only when its last chunk is in.
    public func upload(_ key: String, size: Int64, md5: String) async throws(StorageError) -> any UploadSession {
        let statePath = stateDirectory.map { directory in
            // Keyed by the endpoint too: a session belongs to one server, and another (a fresh emulator on the
            // same bucket name, say) does not know it.
            let name = SHA256.hash(data: Data("\(endpoint)\n\(bucket)\n\(prefix + key)\n\(md5)".utf8)).map { String(format: "%02x", $0) }.joined()
            return directory + "/gcs-\(name).session"
        }
        // The session and the bytes it acknowledged, as the last run left them. GCS ignores bytes sent again
        // below what it holds, so resuming from an offset it acknowledged is safe; no status probe is made (an
        // emulator was seen to finish the object on one).
        if let statePath, let saved = try? String(contentsOfFile: statePath, encoding: .utf8) {  // no file: nothing to resume
            let lines = saved.split(separator: "\n").map(String.init)
            if lines.count == 2, let committed = Int64(lines[1]) {
                return GCSUpload(store: self, key: key, session: lines[0], size: size, md5: md5, statePath: statePath, committed: committed)
            }
        }
        let metadata = try Self.json(["name": prefix + key, "metadata": ["allot-md5": md5]])
        let url = "\(endpoint)/upload/storage/v1/b/\(Self.encode(bucket))/o?uploadType=resumable&name=\(Self.encode(prefix + key))"
        let response = try await send(
            .POST,
            url,
            headers: [("Content-Type", "application/json; charset=UTF-8"), ("X-Upload-Content-Length", String(size))],
            body: ByteBuffer(string: metadata)
        )
        guard let session = response.headers.first(name: "Location") else {
            throw StorageError(code: "InvalidResponse", message: "no resumable session for \(prefix + key)")
        }
        if let statePath {
            // If this fails, the write below fails and says so.
            try? FileManager.default.createDirectory(atPath: (statePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try GCSUpload.save(session: session, committed: 0, to: statePath)
        }
        return GCSUpload(store: self, key: key, session: session, size: size, md5: md5, statePath: statePath, committed: 0)
    }
}

/// A resumable upload: chunks in order (GCS takes them no other way), every one but the last a multiple of
/// 256 KiB.
final class GCSUpload: UploadSession {
    let store: GCSStore
    let key: String
    let session: String
    let size: Int64
    let md5: String
    let statePath: String?
    private let committed: Mutex<Int64>
    private let finished: Mutex<StorageResponse?> = Mutex(nil)

    init(store: GCSStore, key: String, session: String, size: Int64, md5: String, statePath: String?, committed: Int64) {
        self.store = store
        self.key = key
        self.session = session
        self.size = size
        self.md5 = md5
        self.statePath = statePath
        self.committed = Mutex(committed)
    }

    var storedParts: Set<Int> {
        get async {
            let held = committed.withLock { $0 }
            return Set((0..<Int(held / store.partSize)).map { $0 + 1 })
        }
    }

    func upload(part number: Int, offset: Int64, _ data: ByteBuffer) async throws(StorageError) {
        let end = offset + Int64(data.readableBytes)
        let last = end == size
        let response: StorageResponse
        do {
            response = try await store.send(
                .PUT,
                session,
                headers: [("Content-Range", "bytes \(offset)-\(end - 1)/\(size)")],
                body: data,
                expect: last ? [200, 201] : [308]
            )
        } catch  where error.code == "NotFound" || error.code == "HTTP410" {
            // The session expired or its server forgot it: forget it too, so the next run opens a new one
            // instead of failing on this one again.
            if let statePath { try? FileManager.default.removeItem(atPath: statePath) }  // already gone is as good
            throw StorageError(
                code: "SessionExpired",
                message: "\(store.url)\(key): the resumable upload session is gone; run again to start it anew"
            )
        }
        committed.withLock { $0 = end }
        if last {
            finished.withLock { $0 = response }
        } else if let statePath {
            try Self.save(session: session, committed: end, to: statePath)
        }
    }

    func finish() async throws(StorageError) -> StoredObject {
        if size == 0 {
            let response = try await store.send(.PUT, session, headers: [("Content-Range", "bytes */0")], expect: [200, 201])
            finished.withLock { $0 = response }
        }
        guard let response = finished.withLock({ $0 }) else {
            throw StorageError(code: "Incomplete", message: "\(store.url)\(key): the last chunk was not sent")
        }
        try store.verify(response, key: key, md5: md5)
        if let statePath { try? FileManager.default.removeItem(atPath: statePath) }  // the session is done; a stale file only costs one probe
        return StoredObject(key: key, size: size, md5: md5)
    }

    /// Records the session and what it acknowledged (a temporary file renamed over the old one).
    static func save(session: String, committed: Int64, to path: String) throws(StorageError) {
        do { try "\(session)\n\(committed)\n".write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw StorageError(code: "WriteFailed", message: "\(path): \(error)")
        }
    }

    func abort() async {
        _ = try? await store.send(.DELETE, session, expect: [499, 204, 200])  // best effort: sessions expire on their own
        if let statePath { try? FileManager.default.removeItem(atPath: statePath) }  // likewise
    }
}
