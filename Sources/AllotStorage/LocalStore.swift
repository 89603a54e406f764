import AllotAPI
import Crypto
import Foundation
import NIOCore

/// A local directory as an object store: keys are paths below it. Objects are written under a hidden partial
/// name beside the final one and renamed into place when complete, so nothing half-written is ever visible
/// under its final name; a large object's partial file and the list of its parts survive a kill and are resumed.
public struct LocalStore: ObjectStore {
    public let root: String
    public let partSize: Int64

    public init(root: String, partSize: Int64 = 16 << 20) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        self.partSize = partSize
    }

    public var url: String { root }

    static let partialSuffix = ".allot-partial"

    func path(_ key: String) -> String { root + "/" + key }

    static func partialPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + partialSuffix).path
    }

    public func list() async throws(StorageError) -> [StoredObject] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { throw StorageError(code: "NotADirectory", message: "\(root) is a file") }
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw StorageError(code: "Unreadable", message: "cannot list \(root)")
        }
        var found: [StoredObject] = []
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasSuffix(Self.partialSuffix) || name.hasSuffix(Self.partialSuffix + ".parts") { continue }
            guard let attributes = walker.fileAttributes, attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            found.append(StoredObject(key: relative, size: size, modified: attributes[.modificationDate] as? Date))
        }
        return found.sorted { $0.key < $1.key }
    }

    public func read(_ key: String, range: Range<Int64>?) async throws(StorageError) -> ByteBuffer {
        guard let handle = FileHandle(forReadingAtPath: path(key)) else {
            throw StorageError(code: "NoSuchKey", message: "\(path(key)) cannot be read")
        }
        defer { try? handle.close() }  // read-only: a failed close loses nothing
        do {
            if let range {
                try handle.seek(toOffset: UInt64(range.lowerBound))
                return ByteBuffer(bytes: try handle.read(upToCount: Int(range.count)) ?? Data())
            }
            return ByteBuffer(bytes: try handle.readToEnd() ?? Data())
        } catch {
            throw StorageError(code: "ReadFailed", message: "\(path(key)): \(error)")
        }
    }

    public func write(_ key: String, _ data: ByteBuffer, md5: String) async throws(StorageError) -> StoredObject {
        let final = path(key)
        let partial = Self.partialPath(final)
        do {
            try FileManager.default.createDirectory(
                atPath: (final as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(data.readableBytesView).write(to: URL(fileURLWithPath: partial))
        } catch {
            throw StorageError(code: "WriteFailed", message: "\(partial): \(error)")
        }
        try Self.publish(partial, as: final)
        return StoredObject(key: key, size: Int64(data.readableBytes), md5: md5)
    }

    public func upload(_ key: String, size: Int64, md5: String) async throws(StorageError) -> any UploadSession {
        let final = path(key)
        do {
            try FileManager.default.createDirectory(atPath: (final as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch {
            throw StorageError(code: "WriteFailed", message: "\(final): \(error)")
        }
        return LocalUpload(key: key, final: final, partial: Self.partialPath(final), size: size, md5: md5)
    }

    public func delete(_ key: String) async throws(StorageError) {
        do { try FileManager.default.removeItem(atPath: path(key)) } catch {
            throw StorageError(code: "DeleteFailed", message: "\(path(key)): \(error)")
        }
    }

    public func md5(of object: StoredObject) async throws(StorageError) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path(object.key)) else {
            throw StorageError(code: "NoSuchKey", message: "\(path(object.key)) cannot be read")
        }
        defer { try? handle.close() }  // read-only: a failed close loses nothing
        var digest = Insecure.MD5()
        do {
            while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { digest.update(data: chunk) }
        } catch {
            throw StorageError(code: "ReadFailed", message: "\(path(object.key)): \(error)")
        }
        return Hex.encode(digest.finalize())
    }

    /// Renames a complete partial file over its final name (atomic on one file system).
    static func publish(_ partial: String, as final: String) throws(StorageError) {
        guard rename(partial, final) == 0 else {
            throw StorageError(code: "WriteFailed", message: "cannot rename \(partial) to \(final): \(String(cString: strerror(errno)))")
        }
    }
}

/// A large local write: parts written at their offsets into the partial file, each part's number appended to a
/// list beside it once it is on disk, so a second run skips them.
struct LocalUpload: UploadSession {
    let key: String
    let final: String
    let partial: String
    let size: Int64
    let md5: String

    var partsFile: String { partial + ".parts" }

    var storedParts: Set<Int> {
        get async {
            guard let text = try? String(contentsOfFile: partsFile, encoding: .utf8) else { return [] }  // none yet
            return Set(text.split(separator: "\n").compactMap { Int($0) })
        }
    }

    func upload(part number: Int, offset: Int64, _ data: ByteBuffer) async throws(StorageError) {
        let descriptor = open(partial, O_WRONLY | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw StorageError(code: "WriteFailed", message: "\(partial): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let failure: Int32 = data.withUnsafeReadableBytes { buffer in
            var done = 0
            while done < buffer.count {
                let count = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                if count < 0 { return errno }
                done += count
            }
            return fsync(descriptor) == 0 ? 0 : errno
        }
        guard failure == 0 else { throw StorageError(code: "WriteFailed", message: "\(partial): \(String(cString: strerror(failure)))") }
        // Appended with O_APPEND: parts written at once each add their own whole line.
        let list = open(partsFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard list >= 0 else { throw StorageError(code: "WriteFailed", message: "\(partsFile): \(String(cString: strerror(errno)))") }
        defer { close(list) }
        let line = Array("\(number)\n".utf8)
        guard line.withUnsafeBytes({ Glibc.write(list, $0.baseAddress!, $0.count) }) == line.count else {
            throw StorageError(code: "WriteFailed", message: "\(partsFile): \(String(cString: strerror(errno)))")
        }
    }

    func finish() async throws(StorageError) -> StoredObject {
        if size == 0 && !FileManager.default.createFile(atPath: partial, contents: nil) {
            throw StorageError(code: "WriteFailed", message: "cannot create \(partial)")
        }
        try LocalStore.publish(partial, as: final)
        try? FileManager.default.removeItem(atPath: partsFile)  // only a record of progress; the object is in place
        return StoredObject(key: key, size: size, md5: md5)
    }

    func abort() async {
        try? FileManager.default.removeItem(atPath: partial)  // best effort: a later run starts it again
        try? FileManager.default.removeItem(atPath: partsFile)  // likewise
    }
}
