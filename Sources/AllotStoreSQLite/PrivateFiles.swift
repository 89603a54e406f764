import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Database files readable by their owner only: jobs' environments and token digests live in them.
enum PrivateFiles {
    /// Creates `path` empty with mode 0600 when it does not exist (SQLite then gives its `-wal` and `-shm`
    /// files the same mode), and tightens an existing database and its companions to 0600.
    static func prepare(database path: String) {
        guard path != ":memory:", !path.isEmpty else { return }
        if !FileManager.default.fileExists(atPath: path) {
            let descriptor = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            if descriptor >= 0 { close(descriptor) }
        }
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            _ = chmod(file, 0o600)
        }
    }
}
