import Foundation

extension OpenAPIDocument {
    /// The hand-written document, parsed once. It always parses (`OpenAPIAccessTests` reads it the same
    /// way); were it not to, the document would be served as written and no path would answer 405.
    /// (`nonisolated(unsafe)`: a `[String: Any]` is not `Sendable`, but this one is never changed after it is made.)
    nonisolated(unsafe) private static let parsed: [String: Any]? = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]

    /// The document as served: every operation also lists the answers any operation of its kind can give
    /// (`401`, `403`, `429` and `503` behind a token; `400` with parameters; `404` with a path parameter;
    /// `400`, `413` and `422` with a body), written once here rather than on each operation by hand.
    static let served: String = {
        guard var document = parsed, var paths = document["paths"] as? [String: Any] else { return json }
        let error: [String: Any] = ["$ref": "#/components/responses/Error"]
        for (path, value) in paths {
            guard var operations = value as? [String: Any] else { continue }
            for (method, value) in operations {
                guard var operation = value as? [String: Any] else { continue }
                var responses = operation["responses"] as? [String: Any] ?? [:]
                var codes: [String] = []
                if (operation["security"] as? [Any])?.isEmpty != true { codes += ["401", "403", "404", "429", "503"] }
                if var parameters = operation["parameters"] as? [[String: Any]] {
                    // 400: malformed; 422: well formed but not meaningful here (from after to, a resolution not kept).
                    codes += ["400", "422"]
                    // An empty query value is refused (`400`), as its schema says.
                    for index in parameters.indices where parameters[index]["in"] as? String == "query" {
                        parameters[index]["allowEmptyValue"] = false
                        guard var schema = parameters[index]["schema"] as? [String: Any] else { continue }
                        if schema["type"] as? String == "string", schema["minLength"] == nil { schema["minLength"] = 1 }
                        // Whole numbers are read as 64-bit integers.
                        if schema["type"] as? String == "integer" {
                            if schema["maximum"] == nil { schema["maximum"] = Int64.max }
                            if schema["minimum"] == nil { schema["minimum"] = Int64.min }
                        }
                        parameters[index]["schema"] = schema
                    }
                    operation["parameters"] = parameters
                }
                if path.contains("{") { codes.append("404") }
                if operation["requestBody"] != nil { codes += ["400", "413", "422"] }
                for code in codes where responses[code] == nil { responses[code] = error }
                operation["responses"] = responses
                operations[method] = operation
            }
            paths[path] = operations
        }
        document["paths"] = paths
        document = nullableOptionals(document) as? [String: Any] ?? document
        // Only JSON values went in, so it serialises; were it not to, the hand-written document is served.
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]) else { return json }
        return String(decoding: data, as: UTF8.self)
    }()

    /// Every schema's optional properties also take `null`, which the server reads as absent.
    static func nullableOptionals(_ value: Any) -> Any {
        if let array = value as? [Any] { return array.map(nullableOptionals) }
        guard var object = value as? [String: Any] else { return value }
        for (key, child) in object { object[key] = nullableOptionals(child) }
        if var properties = object["properties"] as? [String: Any] {
            let required = Set(object["required"] as? [String] ?? [])
            for (name, schema) in properties where !required.contains(name) {
                properties[name] = ["anyOf": [schema, ["type": "null"]]]
            }
            object["properties"] = properties
        }
        return object
    }

    /// The methods the document describes for a concrete path (`/v1/jobs/job-1` matches `/v1/jobs/{id}`), or
    /// `nil` when it describes no such path.
    static func methods(for path: String) -> Set<String>? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        var found: Set<String>?
        for (template, methods) in templates {
            let pattern = template.split(separator: "/", omittingEmptySubsequences: false)
            guard pattern.count == parts.count else { continue }
            let matches = zip(pattern, parts).allSatisfy { expected, actual in
                (expected.hasPrefix("{") && !actual.isEmpty) || expected == actual
            }
            if matches { found = (found ?? []).union(methods) }
        }
        return found
    }

    private static let templates: [(String, Set<String>)] = {
        guard let paths = parsed?["paths"] as? [String: [String: Any]] else { return [] }
        return paths.map { ($0.key, Set($0.value.keys.map { $0.uppercased() })) }
    }()
}
