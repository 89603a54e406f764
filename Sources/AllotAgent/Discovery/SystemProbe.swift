import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What discovery may ask of the machine; tests give a fake one.
public protocol SystemProbe: Sendable {
    /// A file's text, or `nil` when it cannot be read.
    func read(_ path: String) -> String?
    /// A directory's entries, or `[]`.
    func list(_ path: String) -> [String]
    /// Runs a program found on `PATH`; `nil` when it is missing or cannot start.
    func run(_ program: String, _ arguments: [String]) -> (status: Int32, output: String)?
    /// Total and free-to-unprivileged bytes of the file system holding `path`.
    func fileSystem(_ path: String) -> (total: Int64, free: Int64)?
    /// The host name.
    var hostName: String { get }
}

/// The machine the agent runs on.
public struct LocalSystemProbe: SystemProbe {
    public init() {}

    /// Reads to the end of file with plain `read(2)` calls: files under `/proc` and `/sys` report a size of 0,
    /// and Foundation's whole-file read stops after its first buffer there (on a 16-core machine it saw two of
    /// the sixteen processors in `/proc/cpuinfo`).
    public func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func list(_ path: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted() ?? [] }

    public func run(_ program: String, _ arguments: [String]) -> (status: Int32, output: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // env exits 127 when the program is not found.
        if process.terminationStatus == 127 { return nil }
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    public func fileSystem(_ path: String) -> (total: Int64, free: Int64)? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let unit = Int64(stats.f_frsize)
        return (Int64(stats.f_blocks) * unit, Int64(stats.f_bavail) * unit)
    }

    public var hostName: String { ProcessInfo.processInfo.hostName }
}
