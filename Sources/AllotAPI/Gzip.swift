import CZlib

/// gzip (RFC 1952) through the system's zlib: agents' reports travel compressed over slow links.
public enum Gzip {
    /// `bytes` gzip-compressed.
    public static func compress(_ bytes: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: the largest window, with a gzip header and trailer.
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { preconditionFailure("zlib refused its own defaults") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))))
        var input = bytes
        let written: Int = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                // deflateBound leaves room for everything in one call.
                guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { preconditionFailure("deflateBound was too small") }
                return target.count - Int(stream.avail_out)
            }
        }
        output.removeLast(output.count - written)
        return output
    }

    /// The bytes `compressed` (gzip or zlib) holds; fails when it is not whole and valid, or holds more than
    /// `limit` bytes (a small body that expands without bound is refused, not inflated).
    public static func decompress(_ compressed: [UInt8], limit: Int) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: the largest window, gzip or zlib detected from the header.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw GzipError("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = compressed
        return try input.withUnsafeMutableBufferPointer { source throws(GzipError) in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, target.count - Int(stream.avail_out))
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw GzipError(status == Z_BUF_ERROR ? "the compressed body ends early" : "the compressed body is not valid gzip")
                }
                guard output.count + produced <= limit else { throw GzipError("the body expands past \(limit) bytes") }
                output += chunk[..<produced]
                if status == Z_STREAM_END { return output }
                if produced == 0 && stream.avail_in == 0 { throw GzipError("the compressed body ends early") }
            }
        }
    }
}

/// A gzip body that cannot be read, and why.
public struct GzipError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
