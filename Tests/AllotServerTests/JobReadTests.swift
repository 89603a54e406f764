import AllotAPI
import AllotCore
import AllotStore
import AllotTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AllotServer

/// Listing and looking up jobs: what is durable, one version for every unfinished job, paged.
struct JobReadTests {
    /// A binding the scheduler made but the store has not taken is not shown: before, a listing mixed live
    /// (not yet durable) state with the store's, and could show two jobs on one GPU.
    @Test func readersSeeOnlyWhatIsDurable() async throws {
        let store = FaultInjectingStore(MemoryStore())
        let plane = try await makePlane(store, ManualClock())
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: 4)))
        let first = try await plane.submit(submission(cpu: 3))
        let second = try await plane.submit(submission(cpu: 3))
        await settle(plane)
        #expect(try await plane.jobs(JobQuery()).map(\.job.state) == [.scheduled, .pending])
        // The cancel commits; the cycle after it binds the second job in memory, and its commit is held.
        store.holdCommits(startingWith: 2)
        _ = try await plane.cancel(first.id)
        for _ in 0..<500 where await plane.active[second.id]?.state != .scheduled { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await plane.active[second.id]?.state == .scheduled, "the cycle bound the second job in memory")
        #expect(try await plane.job(second.id).job.state == .pending)
        #expect(try await plane.jobs(JobQuery()).map(\.job.state) == [.cancelled, .pending])
        store.releaseCommits()
        await settle(plane)
        #expect(try await plane.jobs(JobQuery()).map(\.job.state) == [.cancelled, .scheduled])
        #expect(try await plane.job(second.id).job.state == .scheduled)
    }

    /// 250 jobs, some finished: pages of 100 (the default) following each other cover every job once, in
    /// order, and pending jobs' queue positions count from 1.
    @Test func pagesCoverEveryJobOnceInOrder() async throws {
        let store = MemoryStore()
        let plane = try await makePlane(store, ManualClock())
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: 4)))
        var submitted: [JobID] = []
        for _ in 0..<250 { submitted.append(try await plane.submit(submission(cpu: 3)).id) }
        await settle(plane)
        for id in submitted.suffix(50) { _ = try await plane.cancel(id) }
        await settle(plane)
        var seen: [JobView] = []
        var pages = 0
        while true {
            let page = try await plane.jobs(JobQuery(afterSequence: seen.last?.job.sequence))
            #expect(page.count <= ControlPlane.defaultPage)
            seen += page
            pages += 1
            if page.count < ControlPlane.defaultPage { break }
        }
        #expect(pages == 3)
        #expect(seen.map(\.job.id) == submitted)
        #expect(seen.filter { $0.job.state == .cancelled }.count == 50)
        #expect(seen.filter { $0.job.state == .scheduled }.count == 1)
        let positions = seen.filter { $0.job.state == .pending }.map(\.queuePosition)
        #expect(positions == (1...199).map { Optional($0) })
        // Newest first, finished ones only, and the largest page.
        let newest = try await plane.jobs(JobQuery(states: [.cancelled], newestFirst: true, limit: 10))
        #expect(newest.map(\.job.id) == Array(submitted.suffix(10).reversed()))
        #expect(try await plane.jobs(JobQuery(limit: 5_000)).count == 250)
        let one = try await plane.job(submitted[10])
        #expect(one.queuePosition == 10 && one.job.state == .pending)
    }

    /// Over HTTP: the default page is 100, a full page links to the next one, a scoped token pages through
    /// its own tenant's jobs only.
    @Test func listingsOverHTTPArePagedWithALinkToTheNext() async throws {
        let store = MemoryStore()
        // A clock that stands still: however slow the machine, the node never misses a heartbeat.
        let clock = ManualClock()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration(), now: { clock.now })
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: 4)))
        for index in 0..<150 {
            var job = submission(cpu: 3)
            job.task.tenant = index % 3 == 0 ? "blue" : "default"
            _ = try await plane.submit(job)
        }
        let admin = Authenticator.newToken()
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: admin, agentToken: Authenticator.newToken()))
        try await directory.load()
        let app = try buildApplication(plane: plane, directory: directory, port: 0)
        let decoder = JSONDecoder()
        try await app.test(.router) { client in
            let headers: HTTPFields = [.authorization: "Bearer \(admin)"]
            let first = try await client.execute(uri: "/v1/jobs", method: .get, headers: headers)
            #expect(first.status == .ok)
            let page = try decoder.decode([JobView].self, from: Data(first.body.readableBytesView))
            #expect(page.count == 100)
            let link = try #require(first.headers[HTTPField.Name("Link")!])
            #expect(link == "</v1/jobs?after=\(page.last!.job.sequence)&limit=100>; rel=\"next\"")
            let next = String(link.dropFirst().prefix { $0 != ">" })
            let second = try await client.execute(uri: next, method: .get, headers: headers)
            #expect(try decoder.decode([JobView].self, from: Data(second.body.readableBytesView)).count == 50)
            #expect(second.headers[HTTPField.Name("Link")!] == nil)
            let blue = try await client.execute(uri: "/v1/jobs?tenant=blue&limit=20", method: .get, headers: headers)
            let bluePage = try decoder.decode([JobView].self, from: Data(blue.body.readableBytesView))
            #expect(bluePage.count == 20 && bluePage.allSatisfy { $0.job.tenant == "blue" })
            #expect(blue.headers[HTTPField.Name("Link")!]?.contains("tenant=blue") == true)
        }
    }
}

extension JobReadTests {
    /// The audit log pages the same way: 100 by default, a full page links to the next, `limit=0` is refused.
    @Test func theAuditLogIsPagedToo() async throws {
        let store = MemoryStore()
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration())
        let api = try await APIUnderTest(store)
        let admin = api.admin
        await api.directory.sendAudit { entry in await plane.recordAudit(entry) }
        let app = try api.app(plane)
        let decoder = JSONDecoder()
        try await app.test(.router) { client in
            let headers: HTTPFields = [.authorization: "Bearer \(admin)", .contentType: "application/json"]
            // 130 audited calls that need no node: tokens made.
            for index in 0..<130 {
                let response = try await client.execute(
                    uri: "/v1/tokens",
                    method: .post,
                    headers: headers,
                    body: ByteBuffer(string: #"{"name":"t\#(index)","role":"viewer"}"#)
                )
                #expect(response.status == .created)
            }
            await plane.flush()
            let first = try await client.execute(uri: "/v1/audit", method: .get, headers: headers)
            let page = try decoder.decode([AuditEntry].self, from: Data(first.body.readableBytesView))
            #expect(page.count == 100)
            let link = try #require(first.headers[HTTPField.Name("Link")!])
            let next = String(link.dropFirst().prefix { $0 != ">" })
            let second = try decoder.decode(
                [AuditEntry].self,
                from: Data(try await client.execute(uri: next, method: .get, headers: headers).body.readableBytesView)
            )
            #expect(second.count == 30 && second.first!.sequence > page.last!.sequence)
            #expect(try await client.execute(uri: "/v1/audit?limit=0", method: .get, headers: headers).status == .badRequest)
        }
    }
}

/// The bucketed index against a plain sorted array, under random inserts and removals.
struct SequenceIndexTests {
    @Test func agreesWithASortedArray() {
        var generator = SystemRandomNumberGenerator()
        var index = SequenceIndex()
        var reference = Set<Int64>()
        for _ in 0..<20_000 {
            let value = Int64.random(in: 0..<8_000, using: &generator)
            if Bool.random(using: &generator) {
                index.insert(value)
                reference.insert(value)
            } else {
                index.remove(value)
                reference.remove(value)
            }
        }
        let sorted = reference.sorted()
        #expect(index.count == sorted.count)
        for probe in stride(from: Int64(-1), to: 8_100, by: 37) {
            #expect(index.rank(of: probe) == sorted.filter { $0 < probe }.count)
            #expect(index.contains(probe) == reference.contains(probe))
            let after = index.values(after: probe, before: nil, descending: false, limit: 25) { _ in true }
            #expect(after == Array(sorted.filter { $0 > probe }.prefix(25)))
            let before = index.values(after: nil, before: probe, descending: true, limit: 25) { $0 % 2 == 0 }
            #expect(before == Array(sorted.filter { $0 < probe && $0 % 2 == 0 }.reversed().prefix(25)))
        }
        #expect(index.values(after: nil, before: nil, descending: false, limit: .max) { _ in true } == sorted)
        // The ends of the range (a cursor of Int64.max once crashed the server).
        #expect(index.values(after: .max, before: nil, descending: false, limit: 10) { _ in true }.isEmpty)
        #expect(index.values(after: nil, before: .min, descending: true, limit: 10) { _ in true }.isEmpty)
        #expect(index.values(after: .min, before: .max, descending: false, limit: 3) { _ in true } == Array(sorted.prefix(3)))
    }
}
