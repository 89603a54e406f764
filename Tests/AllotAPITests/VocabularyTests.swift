import AllotAPI
import AllotCore
import Foundation
import Testing

/// The typed wire vocabulary reads and writes the same JSON as the plain strings it replaced.
struct VocabularyTests {
    @Test func jobIDsAreStringsOnTheWire() throws {
        let id = JobID(sequence: 42)
        #expect(id.rawValue == "job-42" && "\(id)" == "job-42")
        #expect(String(decoding: try JSONEncoder().encode([id]), as: UTF8.self) == #"["job-42"]"#)
        #expect(try JSONDecoder().decode([JobID].self, from: Data(#"["job-7"]"#.utf8)) == ["job-7"])
        let status = AgentReport.JobStatus(id: "job-3", attempt: 1, state: .running)
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any])
        #expect(json["id"] as? String == "job-3")
    }

    @Test func outcomesSeveritiesAndActionsKeepTheirNames() throws {
        #expect(AttemptOutcome.allCases.map(\.rawValue) == ["succeeded", "failed", "cancelled", "lost", "preempted"])
        #expect(AttemptOutcome(ending: .succeeded) == .succeeded && AttemptOutcome(ending: .pending) == nil)
        #expect(NodeAction.allCases.map(\.rawValue) == ["cordon", "drain", "uncordon"])
        #expect(BottleneckAction.allCases.map(\.rawValue) == ["add-capacity", "move-work", "lower-request"])
        #expect(String(decoding: try JSONEncoder().encode([BottleneckSeverity.high]), as: UTF8.self) == #"["high"]"#)
        let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(#"{"error":{"code":"from_the_future","message":"m"}}"#.utf8))
        #expect(error.error.code == .unknown && error.error.message == "m")
        #expect(
            try JSONDecoder().decode(APIErrorBody.self, from: Data(#"{"error":{"code":"store_unavailable","message":"m"}}"#.utf8)).error.code
                == .storeUnavailable
        )
    }

    /// A NUL would cut an argument or a variable short when the process starts: refused, naming the field.
    @Test(arguments: [
        (#"{"command":["echo","a\u0000b"]}"#, "command[1]"),
        (#"{"command":["true"],"env":{"TOKEN":"abc\u0000def"}}"#, "env.TOKEN"),
    ])
    func aNulInACommandOrVariableIsRefused(json: String, field: String) throws {
        let value = try parseJSON(Array(json.utf8), name: "body")
        #expect {
            _ = try JobSubmission.decode(value)
        } throws: { error in
            "\(error)".hasPrefix(field + ": ") && "\(error)".contains("NUL")
        }
        let clean = try parseJSON(Array(#"{"command":["echo","ab"],"env":{"TOKEN":"abcdef"}}"#.utf8), name: "body")
        #expect(try JobSubmission.decode(clean).environment["TOKEN"] == "abcdef")
    }

    /// A key given twice in one object is refused with its path (before, the last one silently won).
    @Test(arguments: [
        (#"{"command":["true"],"command":["rm","-rf","/"]}"#, "command"),
        (#"{"command":["true"],"requests":{"cpu":1,"memory":"1GiB","cpu":64}}"#, "requests.cpu"),
        (#"{"command":["true"],"env":{"A":"1","\u0041":"2"}}"#, "env.A"),
        (#"[{"a":1},{"b":{"c":[{"d":1,"d":2}]}}]"#, "[1].b.c[0].d"),
    ])
    func aDuplicateKeyIsRefusedNamingIt(json: String, path: String) {
        #expect(throws: InputError(path: path, "duplicate key")) { _ = try parseJSON(Array(json.utf8), name: "body") }
    }

    @Test func keysInDifferentObjectsAreNoDuplicates() throws {
        let json = #"{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":"a\"x\":"}]}"#
        #expect(throws: Never.self) { _ = try parseJSON(Array(json.utf8), name: "body") }
    }
}
