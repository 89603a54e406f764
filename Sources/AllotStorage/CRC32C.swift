import Foundation

/// CRC-32C (Castagnoli), the checksum GCS keeps for every object, composite ones included: the CRC of a
/// concatenation follows from its pieces' CRCs and lengths, so a composed object can be checked against the
/// parts that were verified one by one, without reading anything again.
enum CRC32C {
    /// The reflected polynomial.
    static let polynomial: UInt32 = 0x82F6_3B78

    /// The CRC of `bytes` (bitwise; used for small checks).
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
        }
        return ~crc
    }

    /// The CRC of A followed by B, from CRC(A), CRC(B) and B's length: CRC(A) is carried through
    /// `length` zero bytes (by squaring the one-zero-bit operator over GF(2)) and CRC(B) added.
    static func combine(_ first: UInt32, _ second: UInt32, length: Int64) -> UInt32 {
        guard length > 0 else { return first }
        // The operator for one zero bit, then two and four by squaring.
        var odd = [UInt32](repeating: 0, count: 32)
        odd[0] = polynomial
        for index in 1..<32 { odd[index] = 1 << (index - 1) }
        var even = square(odd)
        odd = square(even)
        var crc = first
        var remaining = UInt64(length)
        // Each round squares the operator (8, 16, 32, … zero bits) and applies it where the length has a bit.
        while true {
            even = square(odd)
            if remaining & 1 == 1 { crc = times(even, crc) }
            remaining >>= 1
            if remaining == 0 { break }
            odd = square(even)
            if remaining & 1 == 1 { crc = times(odd, crc) }
            remaining >>= 1
            if remaining == 0 { break }
        }
        return crc ^ second
    }

    static func times(_ matrix: [UInt32], _ vector: UInt32) -> UInt32 {
        var sum: UInt32 = 0
        var vector = vector
        var index = 0
        while vector != 0 {
            if vector & 1 == 1 { sum ^= matrix[index] }
            vector >>= 1
            index += 1
        }
        return sum
    }

    static func square(_ matrix: [UInt32]) -> [UInt32] { matrix.map { times(matrix, $0) } }

    /// GCS's `crc32c` field: the big-endian bytes in base64.
    static func parse(base64 text: String) -> UInt32? {
        guard let data = Data(base64Encoded: text), data.count == 4 else { return nil }
        return data.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
