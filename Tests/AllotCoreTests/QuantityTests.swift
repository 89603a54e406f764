import Testing

@testable import AllotCore

struct QuantityTests {
    @Test(
        arguments: [
            ("16GiB", 16 * GiB), ("16Gi", 16 * GiB), ("16GB", 16_000_000_000), ("16G", 16_000_000_000), ("1024", 1024),
            ("512Mi", 512 * 1_048_576), ("1.5GiB", 3 * GiB / 2), ("2TiB", 2048 * GiB), ("100KB", 100_000), (" 8 GiB ", 8 * GiB), ("0", 0),
        ] as [(String, Int64)]
    )
    func bytes(text: String, expected: Int64) throws {
        #expect(try Quantity.bytes(text, field: "memory") == expected)
    }

    @Test(arguments: [("2", 2000), ("0.5", 500), ("500m", 500), ("1.25", 1250), ("64", 64000)] as [(String, Int64)])
    func cpu(text: String, expected: Int64) throws {
        #expect(try Quantity.cpuMillis(text, field: "cpu") == expected)
    }

    @Test(arguments: [("10G", 10_000_000_000), ("25Gbps", 25_000_000_000), ("100Mbit", 100_000_000), ("1000", 1000)] as [(String, Int64)])
    func bitRate(text: String, expected: Int64) throws {
        #expect(try Quantity.bitsPerSecond(text, field: "network") == expected)
    }

    @Test(arguments: ["16GiBs", "abc", "-4GiB", "", "16 GIB", "1e3", "GiB", "4.5.6G"])
    func badBytesNameTheFieldAndValue(text: String) {
        #expect {
            try Quantity.bytes(text, field: "nodes[1].memory")
        } throws: { error in
            guard let error = error as? QuantityError else { return false }
            return error.field == "nodes[1].memory" && error.value == text && error.description.contains("nodes[1].memory")
                && error.description.contains("\"\(text)\"")
        }
    }

    @Test(arguments: ["2 cores", "500u", "-1", "m"])
    func badCPU(text: String) {
        #expect(throws: QuantityError.self) { try Quantity.cpuMillis(text, field: "cpu") }
    }

    @Test func negativeNumbersAreRefused() {
        #expect(throws: QuantityError.self) { try Quantity.cpuMillis(-1.0, field: "cpu") }
        #expect(throws: QuantityError.self) { try Quantity.bytes(-5.0, field: "memory") }
    }

    @Test func formatting() {
        #expect(Quantity.formatBytes(16 * GiB) == "16GiB")
        #expect(Quantity.formatBytes(3 * GiB / 2) == "1.5GiB")
        #expect(Quantity.formatBytes(0) == "0B")
        #expect(Quantity.formatCPU(500) == "0.5")
        #expect(Quantity.format(2.0 / 3.0) == "0.667")
        // Past three decimals' reach, exactly as given: before, 9,223,372,036,854,775,807 read "9.223".
        #expect(Quantity.format(Double(Int64.max)) == "9.223372036854776e+18")
        #expect(Quantity.format(1e-300) == "1e-300")
        #expect(Quantity.format(-2.5e20) == "-2.5e+20")
    }

    /// A positive amount too small to be anything is refused rather than taken as zero.
    @Test func amountsThatRoundToNothingAreRefused() throws {
        #expect(throws: QuantityError.self) { try Quantity.cpuMillis(1e-300, field: "cpu") }
        #expect(throws: QuantityError.self) { try Quantity.cpuMillis("0.0001", field: "cpu") }
        #expect(throws: QuantityError.self) { try Quantity.bytes(0.5, field: "memory") }
        #expect(try Quantity.cpuMillis(0, field: "cpu") == 0 && Quantity.bytes(0, field: "memory") == 0)
        #expect(try Quantity.cpuMillis("1m", field: "cpu") == 1 && Quantity.cpuMillis(0.001, field: "cpu") == 1)
    }
}
