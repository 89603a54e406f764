import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ports this process has handed out: never twice.
private let handedOut = Mutex<Set<Int>>([])

/// A loopback TCP port nothing listens on now, for a server a test starts a moment later. Taken below the
/// kernel's ephemeral range, which outgoing connections draw their local ports from: a port from that range
/// (what binding port 0 gives) can be taken meanwhile by any client connection of a test running beside, and
/// the server's bind then fails with "Address already in use".
public func freePort() throws -> Int {
    let ephemeralStart =
        ((try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?  // absent off Linux
            .split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }) ?? 32_768
    let range = 10_000..<max(10_001, ephemeralStart)
    for _ in 0..<200 {
        let port = Int.random(in: range)
        guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
        if try bindable(port) { return port }
    }
    let port = try bound(to: 0)
    handedOut.withLock { _ = $0.insert(port) }
    return port
}

/// Whether `port` can be bound on loopback now (`false`: in use).
private func bindable(_ port: Int) throws -> Bool {
    do {
        _ = try bound(to: port)
        return true
    } catch let error as TestSupportError where error.code == EADDRINUSE || error.code == EACCES {
        return false
    }
}

/// Binds a socket to `port` on loopback (0: any), releases it, and says which port it was.
private func bound(to port: Int) throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestSupportError("socket: errno \(errno)", code: errno) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw TestSupportError("bind: errno \(errno)", code: errno) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A test helper's failure, with what went wrong.
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    /// The errno behind it, where there is one.
    public var code: Int32?

    public init(_ description: String, code: Int32? = nil) {
        self.description = description
        self.code = code
    }
}
