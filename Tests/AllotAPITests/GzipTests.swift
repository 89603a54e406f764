import AllotAPI
import Foundation
import Testing

/// gzip through the system's zlib: what is compressed comes back whole, and a body that is cut, corrupt or
/// expands past its limit is refused.
struct GzipTests {
    @Test func aReportRoundTripsAndShrinks() throws {
        let text = Array(String(repeating: #"{"index":3,"utilizationPercent":87,"memoryUsedBytes":51539607552},"#, count: 8).utf8)
        let compressed = Gzip.compress(text)
        #expect(compressed.count < text.count / 3, "\(compressed.count) of \(text.count)")
        #expect(Array(compressed.prefix(2)) == [0x1f, 0x8b], "a gzip header")
        #expect(try Gzip.decompress(compressed, limit: 1 << 20) == text)
        #expect(try Gzip.decompress(Gzip.compress([]), limit: 10) == [])
        // What gzip(1) makes reads the same (when the tool is there).
        if FileManager.default.isExecutableFile(atPath: "/bin/gzip") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/gzip")
            process.arguments = ["-c"]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            input.fileHandleForWriting.write(Data(text))
            try input.fileHandleForWriting.close()
            let made = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(try Gzip.decompress(Array(made), limit: 1 << 20) == text)
        }
    }

    @Test func cutCorruptOrExpandingBodiesAreRefused() {
        let text = Array(String(repeating: "a", count: 100_000).utf8)
        let compressed = Gzip.compress(text)
        #expect(throws: GzipError.self) { try Gzip.decompress(Array(compressed.prefix(compressed.count / 2)), limit: 1 << 20) }
        var corrupt = compressed
        corrupt[corrupt.count / 2] ^= 0xff
        corrupt[corrupt.count - 6] ^= 0xff  // the trailer's checksum too
        #expect(throws: GzipError.self) { try Gzip.decompress(corrupt, limit: 1 << 20) }
        #expect(throws: GzipError.self) { try Gzip.decompress(Array("not gzip".utf8), limit: 1 << 20) }
        // 100 KB from about 100 bytes: refused past a 64 KiB limit, taken under a larger one.
        #expect(throws: GzipError.self) { try Gzip.decompress(compressed, limit: 64 * 1024) }
        #expect((try? Gzip.decompress(compressed, limit: 200_000)) == text)
    }
}
