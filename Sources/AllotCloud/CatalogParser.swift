/// Reads the catalog's file form from its UTF-8 bytes without splitting it into strings first: the offer lines
/// (most of the file) are a type number, a zone and two prices.
struct CatalogParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var line = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func parse() throws(CatalogError) -> (offers: [CloudOffer], source: String) {
        var source = ""
        var types: [CloudOffer] = []
        var offers: [CloudOffer] = []
        offers.reserveCapacity(bytes.count / 24)
        var cloud = ""
        var region = ""
        var zone: (bytes: [UInt8], text: String?) = ([], nil)
        while position < bytes.count {
            line += 1
            let start = position
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            position = end + 1
            guard end > start else { continue }
            let fields = split(start, end)
            switch bytes[start] {
            case UInt8(ascii: "#"):
                let text = string(start, end)
                if text.hasPrefix("# source: ") { source = String(text.dropFirst("# source: ".count)) }
            case UInt8(ascii: "T"):
                guard fields.count == 9, let vCPUs = number(fields[3]), let memory = number(fields[4]), let count = number(fields[6]) else {
                    throw bad()
                }
                let gpu = string(fields[5])
                types.append(
                    CloudOffer(
                        cloud: string(fields[1]),
                        region: "",
                        instanceType: string(fields[2]),
                        vCPUs: vCPUs,
                        memoryGiB: memory,
                        gpu: gpu.isEmpty ? nil : gpu,
                        gpuCount: count,
                        gpuMemoryGiB: number(fields[7]),
                        arch: string(fields[8]),
                        price: nil
                    )
                )
            case UInt8(ascii: "R"):
                guard fields.count == 3 else { throw bad() }
                cloud = string(fields[1])
                region = string(fields[2])
            default:
                guard fields.count == 4, let id = integer(fields[0]), id < types.count, types[id].cloud == cloud else { throw bad() }
                var offer = types[id]
                offer.region = region
                let zoneBytes = fields[1]
                if zoneBytes.count != zone.bytes.count || !zoneBytes.elementsEqual(zone.bytes, by: { bytes[$0] == $1 }) {
                    zone = (zoneBytes.map { bytes[$0] }, zoneBytes.isEmpty ? nil : string(zoneBytes))
                }
                offer.zone = zone.text
                offer.price = number(fields[2])
                offer.spotPrice = number(fields[3])
                offers.append(offer)
            }
        }
        return (offers, source)
    }

    func bad() -> CatalogError { CatalogError("catalog line \(line): malformed") }

    func split(_ start: Int, _ end: Int) -> [Range<Int>] {
        var fields: [Range<Int>] = []
        var fieldStart = start
        for index in start..<end where bytes[index] == 0x09 {
            fields.append(fieldStart..<index)
            fieldStart = index + 1
        }
        fields.append(fieldStart..<end)
        return fields
    }

    func string(_ start: Int, _ end: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) }
    func string(_ range: Range<Int>) -> String { string(range.lowerBound, range.upperBound) }

    func integer(_ range: Range<Int>) -> Int? {
        guard !range.isEmpty else { return nil }
        var value = 0
        for index in range {
            let digit = Int(bytes[index]) - 48
            guard (0...9).contains(digit) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    /// A plain decimal (`21.9576`) directly; anything else (an exponent) through the standard parser.
    func number(_ range: Range<Int>) -> Double? {
        guard !range.isEmpty else { return nil }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = -1
        var index = range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        while index < range.upperBound {
            let byte = bytes[index]
            if byte == UInt8(ascii: "."), fraction < 0 {
                fraction = 0
            } else if byte >= 48 && byte <= 57, digits < 18 {
                mantissa = mantissa * 10 + UInt64(byte - 48)
                digits += 1
                if fraction >= 0 { fraction += 1 }
            } else {
                return Double(string(range))
            }
            index += 1
        }
        guard digits > 0 else { return nil }
        var value = Double(mantissa)
        if fraction > 0 { value /= Self.powers[fraction] }
        return negative ? -value : value
    }

    static let powers: [Double] = (0...18).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }
}
