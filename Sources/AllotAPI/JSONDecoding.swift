import Foundation

enum JSONDecoding {
    /// Decodes a JSON document, refusing one where an object names a key twice (which value counts would
    /// otherwise depend on the parser).
    static func decode(_ bytes: [UInt8]) throws -> JSONValue {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        if let path = DuplicateKeys.first(in: bytes) { throw InputError(path: path, DuplicateKeys.message) }
        return value
    }
}

/// Finds a key that appears twice in one object of a valid JSON document.
public enum DuplicateKeys {
    /// The message of the ``InputError`` that names a key given twice.
    public static let message = "duplicate key"

    private enum Frame {
        case object(path: String, keys: Set<String>, key: String?, expectingKey: Bool)
        case array(path: String, index: Int)
    }

    /// The path of the first key given twice in one object (`requests.cpu`, `tasks[2].name`), or `nil`.
    static func first(in bytes: [UInt8]) -> String? {
        var stack: [Frame] = []
        var index = 0
        /// The path of a value starting here.
        func valuePath() -> String {
            switch stack.last {
            case nil: return ""
            case .object(let path, _, let key, _): return path.isEmpty ? key ?? "" : "\(path).\(key ?? "")"
            case .array(let path, let index): return "\(path)[\(index)]"
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"): stack.append(.object(path: valuePath(), keys: [], key: nil, expectingKey: true))
            case UInt8(ascii: "["): stack.append(.array(path: valuePath(), index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): stack.removeLast()
            case UInt8(ascii: ","):
                switch stack.popLast() {
                case .object(let path, let keys, let key, _): stack.append(.object(path: path, keys: keys, key: key, expectingKey: true))
                case .array(let path, let count): stack.append(.array(path: path, index: count + 1))
                case nil: break
                }
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                var escaped = false
                while index < bytes.count && !(bytes[index] == UInt8(ascii: "\"") && !escaped) {
                    escaped = !escaped && bytes[index] == UInt8(ascii: "\\")
                    index += 1
                }
                if case .object(let path, var keys, _, true) = stack.last {
                    let raw = Array(bytes[start...min(index, bytes.count - 1)])
                    // The document decoded already, so the key does too; escapes (`\u0061` is `a`) are resolved.
                    let key = (try? JSONDecoder().decode(String.self, from: Data(raw))) ?? String(decoding: raw, as: UTF8.self)
                    guard keys.insert(key).inserted else { return path.isEmpty ? key : "\(path).\(key)" }
                    stack[stack.count - 1] = .object(path: path, keys: keys, key: key, expectingKey: false)
                }
            default: break
            }
            index += 1
        }
        return nil
    }
}
