import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP port nothing listens on now (bound to port 0 and released).
public func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestSupportError("socket: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw TestSupportError("bind: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A test helper's failure, with what went wrong.
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
