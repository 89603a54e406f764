import AllotAPI
import AllotCore
import AllotTestSupport
import Foundation
import Testing

@testable import AllotClient

/// The one-off CLI's client: calls over a blocking socket of their own, against a real server, and the small
/// `allot` binary's `submit` read without ArgumentParser.
@Suite(.timeLimit(.minutes(2)))
struct OneShotClientTests {
    @Test func oneShotCallsReadAnswersAndErrorsAsTheEventLoopClientDoes() async throws {
        let cluster = try await LiveCluster()
        defer { cluster.stop() }
        try cluster.startAgent("n1", resources: "cpu=4,memory=4GiB")
        _ = try await cluster.eventually("the node is ready") { try await cluster.client.node("n1").state == .ready ? true : nil }
        let oneShot = AllotClient(servers: [URL(string: cluster.url)!], token: cluster.adminToken, oneShot: true)
        var ids: [JobID] = []
        for index in 0..<30 {
            ids.append(try await oneShot.submit(["command": ["sleep", "60"], "name": "n\(index)", "requests": ["cpu": 1]]).id)
        }
        // The same answers as the event-loop client's, a long page included.
        let page = try await oneShot.jobs(limit: 1_000)
        #expect(page.map(\.job.id) == ids)
        // The jobs' states move on between the two reads (the agent starts some), so what is compared is what
        // stays: each job's id, name, command and sequence.
        func stable(_ views: [JobView]) -> [String] { views.map { "\($0.job.id) \($0.job.name ?? "") \($0.job.command) \($0.job.sequence)" } }
        #expect(stable(try await cluster.client.jobs(limit: 1_000)) == stable(page))
        #expect(try await oneShot.job(ids[7]).job.name == "n7")
        // A refusal is the server's error, status and code.
        await #expect(throws: ClientError.self) { try await oneShot.job(JobID("job-nowhere")) }
        do {
            _ = try await oneShot.job(JobID("job-nowhere"))
        } catch {
            #expect(error.status == 404 && error.code == .notFound, "\(error)")
        }
        // Nothing listening: unreachable, turned away, and said to have sent nothing.
        let closed = AllotClient(servers: [URL(string: "http://127.0.0.1:\(try freePort())")!], token: "t", oneShot: true)
        do {
            _ = try await closed.nodes()
            Issue.record("a call to a closed port was answered")
        } catch {
            #expect(error.code == .unreachable && error.turnedAway, "\(error)")
            #expect(error.message.contains(AllotClient.notConnected), "\(error)")
        }
    }

    @Test func theSmallBinarysSubmitSendsEveryOptionGiven() async throws {
        let cluster = try await LiveCluster()
        defer { cluster.stop() }
        try cluster.startAgent("n1", resources: "cpu=4,memory=4GiB")
        _ = try await cluster.eventually("the node is ready") { try await cluster.client.node("n1").state == .ready ? true : nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try allotExecutable())
        process.arguments = [
            "submit", "--server", cluster.url, "--token", cluster.adminToken, "--cpu=2", "--memory", "64MiB", "--priority", "3",
            "--class", "critical", "--name", "fast", "--env", "A=b", "--env", "C=d=e", "--preemptible", "--max-attempts", "4",
            "--", "sh", "-c", "echo --cpu 9",
        ]
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": cluster.directory]
        let (output, status) = try await runToEnd(process, mergingErrors: true)
        let text = String(decoding: output, as: UTF8.self)
        #expect(status == 0, "\(text)")
        let id = try #require(text.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        let job = try await cluster.client.job(JobID(id)).job
        #expect(job.command == ["sh", "-c", "echo --cpu 9"])
        #expect(job.name == "fast" && job.task.priority == 3 && job.task.slaClass == .critical && job.task.preemptible)
        #expect(job.environment == ["A": "b", "C": "d=e"])
        #expect(job.maxAttempts == 4)
        #expect(job.task.requests.resources.cpuMillis == 2000 && job.task.requests.resources.memoryBytes == 64 << 20)

        // `job` and `cancel` by the same path.
        func allot(_ arguments: [String]) async throws -> (text: String, status: Int32) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try allotExecutable())
            process.arguments = arguments + ["--server", cluster.url, "--token", cluster.adminToken]
            process.environment = ["PATH": "/usr/bin:/bin", "HOME": cluster.directory]
            let (output, status) = try await runToEnd(process, mergingErrors: true)
            return (String(decoding: output, as: UTF8.self), status)
        }
        let shown = try await allot(["job", id])
        #expect(shown.status == 0 && shown.text.contains("id: \(id)\nname: fast\n"), "\(shown.text)")
        let json = try await allot(["job", "--output=json", id])
        #expect(try JSONDecoder().decode(JobView.self, from: Data(json.text.utf8)).job.id == JobID(id), "\(json.text)")
        let listed = try await allot(["jobs", "--limit", "5"])
        #expect(listed.status == 0 && listed.text.contains(id) && listed.text.contains("fast"), "\(listed.text)")
        #expect(try await allot(["logs", id]).status == 0)
        let cancelled = try await allot(["cancel", id])
        #expect(cancelled.status == 0 && cancelled.text.hasPrefix("\(id): "), "\(cancelled.text)")
        #expect(try await allot(["job", "job-nowhere"]).status != 0)
        let nodes = try await allot(["nodes"])
        #expect(nodes.status == 0 && nodes.text.hasPrefix("NAME") && nodes.text.contains("\nn1 "), "\(nodes.text)")
        let node = try await allot(["node", "n1"])
        #expect(try JSONDecoder().decode(NodeStatus.self, from: Data(node.text.utf8)).name == "n1", "\(node.text)")
        #expect(try await allot(["node", "n-nowhere"]).status != 0)
    }

    @Test func aResponseIsCompleteAtItsLengthItsLastChunkOrTheEndOfTheConnection() throws {
        func reader(_ text: String) -> ResponseReader { ResponseReader(received: Array(text.utf8)) }
        #expect(try reader("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel").complete() == nil)
        let whole = try reader("HTTP/1.1 201 Created\r\ncontent-length:  5 \r\n\r\nhello").complete()
        #expect(whole?.status == 201 && whole?.body == Data("hello".utf8))
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n"
        #expect(try reader(chunked).complete() == nil)
        #expect(try reader(chunked + "0\r\n\r\n").complete()?.body == Data("hello world".utf8))
        // Neither length nor chunks: the body is what came before the connection ended.
        #expect(try reader("HTTP/1.1 200 OK\r\n\r\nabc").complete() == nil)
        #expect(try reader("HTTP/1.1 200 OK\r\n\r\nabc").complete(atEnd: true)?.body == Data("abc".utf8))
        // Cut short, or not HTTP at all: an error, never a partial answer.
        #expect(throws: OneShotHTTP.Failure.self) { try reader("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").complete(atEnd: true) }
        #expect(throws: OneShotHTTP.Failure.self) { try reader("SSH-2.0-OpenSSH\r\n\r\n").complete() }
        #expect(try reader("HTTP/1.1 204 No Content\r\n\r\n").complete()?.body == Data())
    }
}
