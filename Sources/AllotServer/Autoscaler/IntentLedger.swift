import AllotAPI
import Foundation

/// The autoscaler's intents in a file of their own beside the store, replaced whole and synced on every change
/// (written to a temporary file, fsynced, renamed over the old one, the directory fsynced), so that an intent
/// is durable before the cloud is asked for anything.
struct IntentLedger: Sendable {
    let path: String

    func load() throws -> [LaunchIntent] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return try JSONDecoder().decode([LaunchIntent].self, from: data)
    }

    func save(_ intents: [LaunchIntent]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(intents)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw LedgerError("cannot open \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        let result: Int32 = data.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 { return errno }
                written += count
            }
            return fsync(descriptor) == 0 ? 0 : errno
        }
        close(descriptor)
        guard result == 0 else { throw LedgerError("cannot write \(temporary): \(String(cString: strerror(result)))") }
        guard rename(temporary, path) == 0 else { throw LedgerError("cannot replace \(path): \(String(cString: strerror(errno)))") }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}

struct LedgerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
