import AllotCLI
import ArgumentParser
import Foundation
import Testing

/// `allot submit`'s arguments read without ArgumentParser give what ArgumentParser gives, or nothing (and
/// then ArgumentParser reads them).
struct FastArgumentsTests {
    @Test(arguments: [
        ["--", "true"],
        ["--cpu", "2", "--memory=4GiB", "--", "python", "train.py", "--cpu", "9"],
        ["--gpus", "2", "--gpu-memory", "8GiB", "--gpu-model", "H100", "--priority", "1", "--", "x"],
        ["--priority=-3", "--tenant", "t", "--class", "critical", "--gang", "4", "--estimate", "1.5", "--", "x"],
        ["--preemptible", "--name", "n", "--env", "A=b", "--env", "C=d=e", "--max-attempts", "2", "--", "x"],
        ["--on-disconnect", "wait=10m", "--input", "s3://b/k:5TB", "--input", "/data", "--", "x"],
        ["--server", "http://h:1", "--token", "tk", "--ca", "ca.pem", "--output", "json", "--", "x"],
        ["--ca-fingerprint", "ab:cd", "--output=table", "--", "x", "--", "y"],
        ["--cpu", "", "--", "x"],
    ])
    func whatItReadsIsWhatArgumentParserReads(_ arguments: [String]) throws {
        let fast = try #require(SubmitRequest(fast: arguments))
        #expect(fast == (try SubmitCommand.parse(arguments)).request)
    }

    @Test(arguments: [
        ["--help"], ["-h"], ["--cpu"], ["--cpu", "--", "x"], ["--unknown", "1", "--", "x"], ["--gpus", "two", "--", "x"],
        ["--cpu", "1", "--cpu", "2", "--", "x"], ["python", "--", "x"], ["--output", "yaml", "--", "x"], ["--preemptible=yes", "--", "x"],
        ["--preemptible", "--preemptible", "--", "x"], ["--estimate", "soon", "--", "x"], ["--name", "-x", "--", "x"],
        // ArgumentParser takes `-1` after `--priority` for an option, and says the value is missing.
        ["--priority", "-1", "--", "x"],
    ])
    func anythingElseIsLeftToArgumentParser(_ arguments: [String]) {
        #expect(SubmitRequest(fast: arguments) == nil)
    }

    @Test(arguments: [["job-1"], ["--output", "json", "job-1"], ["job-1", "--server=http://h:1", "--token", "t"], ["--ca", "c.pem", "j"]])
    func jobAndCancelReadWhatArgumentParserReads(_ arguments: [String]) throws {
        let job = try #require(JobRequest(fast: arguments))
        #expect(job == (try JobCommand.parse(arguments)).request)
        // cancel takes no --output.
        let forCancel = arguments.first == "--output" ? Array(arguments.dropFirst(2)) : arguments
        let cancel = try #require(CancelRequest(fast: forCancel))
        #expect(cancel == (try CancelCommand.parse(forCancel)).request)
    }

    @Test(arguments: [[], ["a", "b"], ["--", "job-1"], ["-h"], ["job-1", "--follow"], ["--output", "yaml", "job-1"], ["-x"]])
    func jobAndCancelLeaveTheRestToArgumentParser(_ arguments: [String]) {
        #expect(JobRequest(fast: arguments) == nil)
        #expect(CancelRequest(fast: arguments) == nil)
    }

    @Test(arguments: [[], ["--state", "pending,running", "--limit", "5"], ["--tenant=t", "--output", "json", "--server", "http://h:1"]])
    func jobsReadsWhatArgumentParserReads(_ arguments: [String]) throws {
        #expect(try #require(JobsRequest(fast: arguments)) == (try JobsCommand.parse(arguments)).request)
    }

    @Test(arguments: [["job-1"], ["--follow", "job-1"], ["job-1", "--follow", "--token", "t"]])
    func logsReadsWhatArgumentParserReads(_ arguments: [String]) throws {
        #expect(try #require(LogsRequest(fast: arguments)) == (try LogsCommand.parse(arguments)).request)
    }

    @Test func jobsAndLogsLeaveTheRestToArgumentParser() {
        for arguments in [["--limit", "x"], ["--limit"], ["extra"], ["--follow"], ["-h"], ["--state", "a", "--state", "b"]] {
            #expect(JobsRequest(fast: arguments) == nil, "\(arguments)")
        }
        for arguments in [[], ["a", "b"], ["--follow=yes", "a"], ["--follow", "--follow", "a"], ["--output", "json", "a"]] {
            #expect(LogsRequest(fast: arguments) == nil, "\(arguments)")
        }
    }

    @Test(arguments: [[], ["--output", "json"], ["--server=http://h:1", "--token", "t", "--ca-fingerprint", "ab"]])
    func nodesAndNodeReadWhatArgumentParserReads(_ arguments: [String]) throws {
        #expect(try #require(NodesRequest(fast: arguments)) == (try NodesCommand.parse(arguments)).request)
        for named in [["n1"] + arguments, arguments + ["n1"]] {
            #expect(try #require(NodeRequest(fast: named)) == (try NodeCommand.parse(named)).request)
        }
    }

    @Test func nodesAndNodeLeaveTheRestToArgumentParser() {
        for arguments in [["n1"], ["-h"], ["--output", "yaml"], ["--output", "json", "--output", "table"]] {
            #expect(NodesRequest(fast: arguments) == nil, "\(arguments)")
        }
        // An action (cordon, drain, uncordon, revoke) goes through ArgumentParser, which checks it.
        for arguments in [[], ["n1", "drain"], ["n1", "sideways"], ["--", "n1"], ["-x", "n1"]] {
            #expect(NodeRequest(fast: arguments) == nil, "\(arguments)")
        }
    }

    func declaredOptions(_ help: String) throws -> Set<String> {
        let regex = try NSRegularExpression(pattern: "--([a-z][a-z-]*)")
        return Set(
            regex.matches(in: help, range: NSRange(help.startIndex..., in: help)).compactMap {
                Range($0.range(at: 1), in: help).map { String(help[$0]) }
            }
        ).subtracting(["help"])
    }

    @Test func theGrammarsNameEveryOptionTheCommandsDeclare() throws {
        #expect(try declaredOptions(SubmitCommand.helpMessage(columns: 400)) == Set(SubmitRequest.grammar.names))
        #expect(try declaredOptions(JobCommand.helpMessage(columns: 400)) == Set(JobRequest.grammar.names))
        #expect(try declaredOptions(CancelCommand.helpMessage(columns: 400)) == Set(CancelRequest.grammar.names))
        #expect(try declaredOptions(JobsCommand.helpMessage(columns: 400)) == Set(JobsRequest.grammar.names))
        #expect(try declaredOptions(LogsCommand.helpMessage(columns: 400)) == Set(LogsRequest.grammar.names))
        #expect(try declaredOptions(NodesCommand.helpMessage(columns: 400)) == Set(NodesRequest.grammar.names))
        #expect(try declaredOptions(NodeCommand.helpMessage(columns: 400)) == Set(NodeRequest.grammar.names))
    }

    @Test func theSmallBinaryKnowsItsCommandsByName() {
        #expect(QuickCommands.names == QuickCommands.commands.map { $0.configuration.commandName })
    }

    @Test func theBodyHoldsWhatWasGivenAndNothingElse() throws {
        let request = try #require(SubmitRequest(fast: ["--cpu", "1", "--class", "critical", "--gpus", "2", "--env", "A=b", "--", "sleep", "1"]))
        let body = String(decoding: try request.body(), as: UTF8.self)
        #expect(body == #"{"class":"critical","command":["sleep","1"],"env":{"A":"b"},"requests":{"cpu":"1","gpus":2}}"#)
    }
}
