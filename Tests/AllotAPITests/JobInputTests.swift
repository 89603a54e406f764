import AllotAPI
import Testing

/// A job's inputs as written on the command line and in the API.
struct JobInputTests {
    @Test func urlsWithAndWithoutASize() throws {
        #expect(try JobInput.parse("s3://lake/clips/:5TB") == JobInput(url: "s3://lake/clips/", bytes: 5_000_000_000_000))
        #expect(try JobInput.parse("gs://lake/weights.bin") == JobInput(url: "gs://lake/weights.bin"))
        #expect(try JobInput.parse("gs://lake/a:b") == JobInput(url: "gs://lake/a:b"))
        #expect(try JobInput.parse("/data/set:1GiB") == JobInput(url: "/data/set", bytes: 1 << 30))
        for bad in ["s3://", "s3:///key", "http://lake/x", "relative/path", "s3://lake/x:5XB"] {
            #expect(throws: InputError.self, "\(bad)") { try JobInput.parse(bad) }
        }
    }

    @Test func aSubmissionCarriesItsInputsAndRefusesBadOnes() throws {
        let text = #"{"command": ["true"], "inputs": ["s3://lake/clips/:1TB", {"url": "gs://lake/w.bin", "bytes": 42}]}"#
        let submission = try JobSubmission.decode(try parseJSON(Array(text.utf8), name: "body"))
        #expect(submission.inputs == [JobInput(url: "s3://lake/clips/", bytes: 1_000_000_000_000), JobInput(url: "gs://lake/w.bin", bytes: 42)])
        #expect(try JobSubmission.decode(try parseJSON(Array(#"{"command": ["true"]}"#.utf8), name: "body")).inputs.isEmpty)
        let tooMany = #"{"command": ["true"], "inputs": [\#((0...16).map { "\"s3://b/\($0)\"" }.joined(separator: ","))]}"#
        #expect(throws: InputError.self) { try JobSubmission.decode(try parseJSON(Array(tooMany.utf8), name: "body")) }
        #expect(throws: InputError.self) {
            try JobSubmission.decode(try parseJSON(Array(#"{"command": ["true"], "inputs": [7]}"#.utf8), name: "body"))
        }
        #expect(throws: InputError.self) {
            try JobSubmission.decode(try parseJSON(Array(#"{"command": ["true"], "inputs": [{"url": "s3://b/k", "size": 1}]}"#.utf8), name: "body"))
        }
    }
}
