import Foundation
import Testing

extension HeavyTests {
    /// The chaos suite, short: one round of each fault (`allot bench chaos`, real server and agent processes).
    /// Nothing acknowledged may be lost or run twice, a valid client never fails beside a burst of bad tokens,
    /// and the server never dies. (The long run: README, "Chaos suite".)
    @Suite(.serialized) struct ChaosSuiteTests {
        struct Outcome: Decodable {
            var fault: String
            var rounds: Int
            var acknowledged: Int
            var lost: Int
            var ranTwice: Int
            var errors: Int
            var skipped: String?
            var notes: [String]
        }

        @Test func oneRoundOfEachFaultLosesNothingAndRunsNothingTwice() async throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try allotExecutable())
            process.arguments = ["bench", "chaos", "--rounds", "1", "--jobs", "30", "--storm-seconds", "2", "--readers", "50", "--output", "json"]
            process.standardError = FileHandle.nullDevice
            let (data, status) = try await runToEnd(process)
            #expect(status == 0)
            let outcomes = try JSONDecoder().decode([Outcome].self, from: data)
            #expect(Set(outcomes.map(\.fault)) == ["kill-9", "full-disk", "descriptors", "bad-tokens", "read-storm"])
            for outcome in outcomes where outcome.skipped == nil {
                #expect(outcome.rounds == 1 && outcome.acknowledged >= 1, "\(outcome.fault)")
                #expect(outcome.lost == 0, "\(outcome.fault): \(outcome.lost) acknowledged jobs lost; \(outcome.notes)")
                #expect(outcome.ranTwice == 0, "\(outcome.fault): \(outcome.ranTwice) jobs ran twice; \(outcome.notes)")
                #expect(!outcome.notes.contains("the server died"), "\(outcome.fault)")
            }
            let tokens = try #require(outcomes.first { $0.fault == "bad-tokens" })
            #expect(tokens.errors == 0 && tokens.notes.isEmpty, "valid calls failed beside bad tokens: \(tokens.notes)")
        }
    }
}
