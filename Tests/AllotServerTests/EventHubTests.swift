import AllotAPI
import Testing

@testable import AllotServer

@Suite struct EventHubTests {
    /// A tenant's subscriber sees its own tenants' job changes only; node changes (which name every tenant's
    /// jobs) reach admins alone.
    @Test func subscribersSeeOnlyTheirTenants() async throws {
        let hub = EventHub()
        let member = hub.subscribe(scope: ["acme", "acme-vision"])
        let admin = hub.subscribe()
        hub.publish("job", ["id": "job-1"], tenant: "globex")
        hub.publish("job", ["id": "job-2"], tenant: "acme-vision")
        hub.publish("node", ["name": "n1", "jobs": "job-1"])
        hub.publish("job", ["id": "job-3"], tenant: "acme")
        hub.finish()
        var seen: [String] = []
        for await event in member { seen.append(event.data) }
        #expect(seen == [#"{"id":"job-2"}"#, #"{"id":"job-3"}"#])
        var all: [String] = []
        for await event in admin { all.append(event.type + ":" + (event.tenant ?? "-")) }
        #expect(all == ["job:globex", "job:acme-vision", "node:-", "job:acme"])
    }
}
