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
}
