#if canImport(Glibc)
import Foundation
import Glibc

/// One plain-HTTP/1.1 exchange over a blocking socket, for a process that makes a call or two and exits (a CLI
/// command). SwiftNIO's event loops, its resolver and its channel pipeline cost a one-off `allot submit` more
/// than the call itself; a steady caller (an agent, a server) and every `https://` call go through
/// ``HTTPTransport`` or ``KeepAliveConnection`` instead. It blocks the thread it runs on until the answer
/// comes or `timeout` passes.
enum OneShotHTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// Nothing was sent: the connection was never made.
        var notConnected = false
        /// The server's host turned the call away (refused, reset, closed before answering).
        var turnedAway = false
    }

    static func send(
        method: String,
        host: String,
        port: Int,
        uri: String,
        headers: [(String, String)],
        body: Data?,
        timeout: Double
    ) throws(Failure) -> (status: Int, body: Data) {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        let socket = try connect(host: host, port: port, within: min(5, timeout))
        defer { close(socket) }
        var request = "\(method) \(uri) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nContent-Length: \(body?.count ?? 0)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        // The whole request in one write, as ``HTTPTransport`` does.
        var bytes = Data(request.utf8)
        if let body { bytes.append(body) }
        try write(bytes, to: socket, until: deadline)
        var response = ResponseReader()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let complete = try response.complete() { return complete }
            try wait(for: Int16(POLLIN), on: socket, until: deadline, doing: "waiting for the answer")
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                let reason = String(cString: strerror(errno))
                throw Failure(description: "the connection failed before the response ended: \(reason)", turnedAway: errno == ECONNRESET)
            }
            if count == 0 {
                if let complete = try response.complete(atEnd: true) { return complete }
                throw Failure(description: "the connection closed before the response ended", turnedAway: true)
            }
            response.received.append(contentsOf: buffer[0..<count])
        }
    }

    /// A connected socket to the first of the host's addresses that answers.
    private static func connect(host: String, port: Int, within seconds: Double) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))", notConnected: true)
        }
        defer { freeaddrinfo(first) }
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        var reasons: [String] = []
        var refused = true
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            next = entry.pointee.ai_next
            let socket = Glibc.socket(entry.pointee.ai_family, entry.pointee.ai_socktype, entry.pointee.ai_protocol)
            guard socket >= 0 else { continue }
            _ = fcntl(socket, F_SETFD, FD_CLOEXEC)
            _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
            var on: Int32 = 1
            _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            var result = Glibc.connect(socket, entry.pointee.ai_addr, entry.pointee.ai_addrlen)
            if result != 0 && errno == EINPROGRESS {
                do {
                    try wait(for: Int16(POLLOUT), on: socket, until: deadline, doing: "connecting")
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length)
                    errno = error
                    result = error == 0 ? 0 : -1
                } catch {
                    errno = ETIMEDOUT
                    result = -1
                }
            }
            if result == 0 { return socket }
            if errno != ECONNREFUSED && errno != ECONNRESET { refused = false }
            reasons.append(String(cString: strerror(errno)))
            close(socket)
        }
        throw Failure(
            description: reasons.isEmpty ? "no address of \(host) to connect to" : reasons.joined(separator: "; "),
            notConnected: true,
            turnedAway: refused && !reasons.isEmpty
        )
    }

    private static func write(_ bytes: Data, to socket: Int32, until deadline: ContinuousClock.Instant) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                Glibc.send(socket, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count >= 0 {
                offset += count
                continue
            }
            if errno == EINTR { continue }
            if errno == EAGAIN {
                try wait(for: Int16(POLLOUT), on: socket, until: deadline, doing: "sending the request")
                continue
            }
            let reason = String(cString: strerror(errno))
            throw Failure(description: "the connection failed while sending: \(reason)", turnedAway: errno == ECONNRESET || errno == EPIPE)
        }
    }

    /// Waits until the socket is ready for `events`, or throws when the deadline passes first.
    private static func wait(for events: Int16, on socket: Int32, until deadline: ContinuousClock.Instant, doing what: String) throws(Failure) {
        while true {
            let left = deadline - ContinuousClock.now
            let milliseconds = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
            guard milliseconds > 0 else { throw Failure(description: "timed out \(what)") }
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(milliseconds, Int64(Int32.max))))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw Failure(description: "poll failed \(what): \(String(cString: strerror(errno)))") }
        }
    }
}

/// The parts of an HTTP/1.1 response received so far: complete once its body has its `Content-Length`, or its
/// last chunk, or (with neither) the connection has ended.
struct ResponseReader {
    var received: [UInt8] = []

    func complete(atEnd: Bool = false) throws(OneShotHTTP.Failure) -> (status: Int, body: Data)? {
        guard let headEnd = find([13, 10, 13, 10], from: 0) else {
            if atEnd { throw OneShotHTTP.Failure(description: "the connection closed before the response's head ended", turnedAway: true) }
            return nil
        }
        let head = String(decoding: received[0..<headEnd], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = head.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw OneShotHTTP.Failure(description: "not an HTTP/1.1 response: \(head.first ?? "")")
        }
        var length: Int?
        var chunked = false
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimming { $0 == " " || $0 == "\t" }
            if name == "content-length" { length = Int(value) }
            if name == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
        }
        let bodyStart = headEnd + 4
        // A response to which no body belongs.
        if (100..<200).contains(status) || status == 204 || status == 304 { return (status, Data()) }
        if chunked { return try dechunk(from: bodyStart).map { (status, $0) } }
        if let length {
            guard received.count - bodyStart >= length else {
                if atEnd { throw OneShotHTTP.Failure(description: "the connection closed before the response ended", turnedAway: true) }
                return nil
            }
            return (status, Data(received[bodyStart..<(bodyStart + length)]))
        }
        return atEnd ? (status, Data(received[bodyStart...])) : nil
    }

    /// The chunked body from `start`, or `nil` while its last chunk has not come.
    private func dechunk(from start: Int) throws(OneShotHTTP.Failure) -> Data? {
        var body = Data()
        var position = start
        while true {
            guard let lineEnd = find([13, 10], from: position) else { return nil }
            let sizeText = String(decoding: received[position..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimming { $0 == " " || $0 == "\t" }, radix: 16) else {
                throw OneShotHTTP.Failure(description: "a malformed chunk size in the response")
            }
            let dataStart = lineEnd + 2
            if size == 0 { return body }
            guard received.count >= dataStart + size + 2 else { return nil }
            body.append(contentsOf: received[dataStart..<(dataStart + size)])
            position = dataStart + size + 2
        }
    }

    private func find(_ pattern: [UInt8], from start: Int) -> Int? {
        guard received.count >= pattern.count else { return nil }
        var index = start
        while index + pattern.count <= received.count {
            if received[index] == pattern[0] && Array(received[index..<(index + pattern.count)]) == pattern { return index }
            index += 1
        }
        return nil
    }
}
#endif

extension Substring {
    /// Without the leading and trailing characters `drop` matches. By index, in Swift: Foundation's
    /// `trimmingCharacters(in:)` goes through NSString, and generic sequence algorithms instantiate types at run
    /// time, each costing a one-off CLI call more than its work.
    func trimming(_ drop: (Character) -> Bool) -> String {
        var start = startIndex
        var end = endIndex
        while start < end, drop(self[start]) { start = index(after: start) }
        while end > start, drop(self[index(before: end)]) { end = index(before: end) }
        return String(self[start..<end])
    }
}
