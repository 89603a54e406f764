import Foundation

/// Encodes a report as pretty-printed JSON with sorted keys, so that the same input prints the same bytes.
public enum JSONOutput {
    public static func render<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// Reads a whole file, with an error that names it.
public func readFile(_ path: String, option: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandFailure("\(option): cannot read \(path): no such file or not readable")
    }
    return [UInt8](data)
}

/// A command's failure: printed as `Error: message`, exit code 1.
public struct CommandFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
