import AllotCore

/// Any JSON value, decoded first so that files can be read field by field with exact paths in errors
/// and unknown keys refused (a mistyped `memroy` must not be silently ignored).
public enum JSONValue: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Reads a JSON object's fields, tracking the path and refusing unknown keys.
struct ObjectReader {
    let path: String
    let fields: [String: JSONValue]

    init(_ value: JSONValue, path: String, allowed: Set<String>) throws(InputError) {
        guard case .object(let fields) = value else { throw InputError(path: path, "expected an object, found \(value.kind)") }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw InputError(path: Self.join(path, unknown), "unknown field (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        self.path = path
        self.fields = fields
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func at(_ key: String) -> String { Self.join(path, key) }

    func has(_ key: String) -> Bool {
        if case .some(.null) = fields[key] { return false }
        return fields[key] != nil
    }

    func string(_ key: String) throws(InputError) -> String? {
        switch fields[key] {
        case nil, .null: return nil
        case .string(let value): return value
        case .number(let value): return Quantity.format(value)
        case .some(let other): throw InputError(path: at(key), "expected a string, found \(other.kind)")
        }
    }

    func requiredString(_ key: String) throws(InputError) -> String {
        guard let value = try string(key), !value.isEmpty else { throw InputError(path: at(key), "required") }
        return value
    }

    func bool(_ key: String) throws(InputError) -> Bool? {
        switch fields[key] {
        case nil, .null: return nil
        case .bool(let value): return value
        case .some(let other): throw InputError(path: at(key), "expected true or false, found \(other.kind)")
        }
    }

    func number(_ key: String) throws(InputError) -> Double? {
        switch fields[key] {
        case nil, .null: return nil
        case .number(let value): return value
        case .string(let text):
            guard let value = Double(text) else { throw InputError(path: at(key), "invalid value \"\(text)\": expected a number") }
            return value
        case .some(let other): throw InputError(path: at(key), "expected a number, found \(other.kind)")
        }
    }

    func integer(_ key: String) throws(InputError) -> Int? {
        guard let value = try number(key) else { return nil }
        guard value == value.rounded(), abs(value) < 1e15 else {
            throw InputError(path: at(key), "invalid value \"\(Quantity.format(value))\": expected a whole number")
        }
        return Int(value)
    }

    func array(_ key: String) throws(InputError) -> [JSONValue]? {
        switch fields[key] {
        case nil, .null: return nil
        case .array(let values): return values
        case .some(let other): throw InputError(path: at(key), "expected an array, found \(other.kind)")
        }
    }

    /// A quantity given as a number or a string with a unit.
    func quantity(
        _ key: String,
        number: (Double, String) throws(QuantityError) -> Int64,
        text: (String, String) throws(QuantityError) -> Int64
    ) throws(InputError) -> Int64? {
        do {
            switch fields[key] {
            case nil, .null: return nil
            case .number(let value):
                guard value >= 0 else { throw InputError(path: at(key), "invalid value \"\(Quantity.format(value))\": must not be negative") }
                return try number(value, at(key))
            case .string(let value): return try text(value, at(key))
            case .some(let other): throw InputError(path: at(key), "expected a number or a quantity string, found \(other.kind)")
            }
        } catch let error as QuantityError {
            throw InputError(error)
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError(path: at(key), "\(error)")
        }
    }

    func cpu(_ key: String) throws(InputError) -> Int64? {
        try quantity(key, number: Quantity.cpuMillis, text: Quantity.cpuMillis)
    }

    func bytes(_ key: String) throws(InputError) -> Int64? {
        try quantity(key, number: Quantity.bytes, text: Quantity.bytes)
    }

    func bitRate(_ key: String) throws(InputError) -> Int64? {
        try quantity(key, number: { value, field throws(QuantityError) in try Quantity.bytes(value, field: field) }, text: Quantity.bitsPerSecond)
    }
}

/// Decodes a JSON document into a ``JSONValue``, turning a syntax error into an ``InputError``.
public func parseJSON(_ bytes: [UInt8], name: String) throws(InputError) -> JSONValue {
    do {
        return try JSONDecoding.decode(bytes)
    } catch let duplicate as InputError {
        throw duplicate
    } catch {
        throw InputError(path: name, "not valid JSON (\(error))")
    }
}
