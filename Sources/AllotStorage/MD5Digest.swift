import AllotAPI
import Crypto
import Foundation
import NIOCore

/// MD5 over bytes as they pass, in the two spellings stores use: hex (S3's ETag, Allot's metadata) and base64
/// (`Content-MD5`, GCS's `md5Hash`).
struct MD5Digest {
    private var hasher = Insecure.MD5()
    private var bytes: [UInt8]?

    mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
    }

    private mutating func finalized() -> [UInt8] {
        if let bytes { return bytes }
        let done = Array(hasher.finalize())
        bytes = done
        return done
    }

    var hex: String {
        mutating get { Hex.encode(finalized()) }
    }

    var base64: String {
        mutating get { Data(finalized()).base64EncodedString() }
    }

    static func hex(of buffer: ByteBuffer) -> String {
        var digest = MD5Digest()
        digest.update(buffer)
        return digest.hex
    }

    /// Hex from base64 (`md5Hash`), `nil` when it is not a 16-byte digest.
    static func hex(base64 text: String) -> String? {
        guard let data = Data(base64Encoded: text), data.count == 16 else { return nil }
        return Hex.encode(data)
    }
}
