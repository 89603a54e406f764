import Testing

@testable import AllotStorage

/// CRC32C as GCS computes it, and the CRC of a concatenation from its pieces' (how composed objects are checked).
struct StorageChecksumTests {
    @Test func crc32cMatchesTheStandardVectorAndCombinesPieces() {
        // The check value of CRC-32C (RFC 3720's polynomial) over "123456789".
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.parse(base64: "4waSgw==") == 0xE306_9283)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let whole = (0..<Int.random(in: 1...3_000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let cut = Int.random(in: 0...whole.count, using: &generator)
            let (head, tail) = (Array(whole[..<cut]), Array(whole[cut...]))
            let combined = CRC32C.combine(CRC32C.checksum(head), CRC32C.checksum(tail), length: Int64(tail.count))
            #expect(combined == CRC32C.checksum(whole), "cut at \(cut) of \(whole.count)")
        }
    }
}
