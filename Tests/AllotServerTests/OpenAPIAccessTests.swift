import AllotAPI
import Foundation
import HTTPTypes
import Testing

@testable import AllotServer

@Suite struct OpenAPIAccessTests {
    /// Every operation the document describes has a rule in the access table, so none is reachable without one.
    @Test func everyDocumentedOperationHasAnAccessRule() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations = 0
        for (path, methods) in paths {
            let concrete = path.replacingOccurrences(of: "{id}", with: "x1").replacingOccurrences(of: "{name}", with: "n1")
                .replacingOccurrences(of: "{action}", with: "cordon")
            for method in methods.keys {
                let rule = AccessControl.rule(method: HTTPRequest.Method(method.uppercased())!, path: concrete)
                #expect(rule != nil, "\(method) \(path)")
                if path == "/health" || path == "/openapi.json" { #expect(rule?.requirement == .open) } else { #expect(rule?.requirement != .open) }
                operations += 1
            }
        }
        #expect(operations >= 20)
    }

    /// The error schema lists every code the server answers, and none that only the client makes up.
    @Test func everyErrorCodeIsDocumented() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let error = try #require(((schemas["Error"] as? [String: Any])?["properties"] as? [String: Any])?["error"] as? [String: Any])
        let code = try #require((error["properties"] as? [String: Any])?["code"] as? [String: Any])
        let listed = Set(try #require(code["enum"] as? [String]))
        for value in ErrorCode.allCases {
            #expect(listed.contains(value.rawValue) == !value.isClientSide, "\(value.rawValue)")
        }
        #expect(listed.contains("store_unavailable") && listed.contains("invalid_field"))
    }
}
