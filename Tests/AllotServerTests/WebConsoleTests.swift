import AllotAPI
import AllotStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AllotServer

@Suite struct WebConsoleTests {
    static let pages = ["/ui/overview", "/ui/nodes", "/ui/jobs", "/ui/tenants", "/ui/costs", "/ui/recommendations", "/ui/offers?gpus=A100:8"]

    /// The sign-in form's CSRF cookie and value.
    func signInForm(_ client: some TestClientProtocol) async throws -> (cookie: String, value: String) {
        let page = try await client.execute(uri: "/ui/sign-in", method: .get)
        let cookie = try #require(page.headers[.setCookie])
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        return (String(cookie.split(separator: ";")[0]), try csrf(in: String(buffer: page.body)))
    }

    func signIn(_ client: some TestClientProtocol, _ secret: String) async throws -> String {
        let form = try await signInForm(client)
        let response = try await client.execute(
            uri: "/ui/sign-in",
            method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .cookie: form.cookie],
            body: ByteBuffer(string: "token=\(secret)&csrf=\(form.value)")
        )
        #expect(response.status == .seeOther)
        let cookie = try #require(response.headers[.setCookie])
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
        return String(cookie.split(separator: ";")[0])
    }

    func csrf(in html: String) throws -> String {
        let marker = "name=\"csrf\" value=\""
        let start = try #require(html.range(of: marker)).upperBound
        return String(html[start...].prefix { $0 != "\"" })
    }

    @Test func theNodesPageShowsWhyEachMachineWasBought() async throws {
        let world = try await IsolationMatrixTests().makeWorld(store: MemoryStore())
        var intent = LaunchIntent(
            id: "intent-1",
            state: .booting,
            provider: "aws",
            region: "us-east-1",
            instanceType: "g4dn.xlarge",
            spot: false,
            hourlyPrice: 0.526,
            jobs: ["job-<7>"],
            alternatives: ["g6.xlarge us-east-1 $0.8048/h"],
            createdAt: 1
        )
        intent.instanceID = "i-0abc"
        world.plane.provisioning.publish(intents: [intent], decisions: [:])
        let app = try buildApplication(plane: world.plane, directory: world.directory, port: 0)
        let admin = try #require(world.secrets[.admin])
        try await app.test(.router) { client in
            let session = try await signIn(client, admin)
            let page = String(buffer: try await client.execute(uri: "/ui/nodes", method: .get, headers: [.cookie: session]).body)
            #expect(page.contains("Machines the autoscaler bought") && page.contains("i-0abc") && page.contains("provisioning"))
            #expect(page.contains("for job-&lt;7&gt;: g4dn.xlarge on-demand in us-east-1 at $0.5260/h; beat g6.xlarge us-east-1 $0.8048/h"))
        }
    }

    @Test func theCostsPageShowsTheBillsBesideTheEstimate() async throws {
        let world = try await IsolationMatrixTests().makeWorld(store: MemoryStore())
        let app = try buildApplication(plane: world.plane, directory: world.directory, port: 0)
        let admin = try #require(world.secrets[.admin])
        try await app.test(.router) { client in
            let session = try await signIn(client, admin)
            let before = String(buffer: try await client.execute(uri: "/ui/costs", method: .get, headers: [.cookie: session]).body)
            #expect(before.contains("Estimated and billed") && before.contains("No bills imported"))
            let day = CostDates.day(Date().timeIntervalSince1970)
            let identity = Identity(actor: "t", role: .admin, tenant: "default", scope: nil)
            let rows = [BilledCost(source: "focus", day: day, resource: "vol-1", service: "EBS", cloud: "aws", cost: 3.25)]
            _ = try await world.plane.costCenter.importBilled(BillingImportRequest(rows: rows), by: identity)
            let after = String(buffer: try await client.execute(uri: "/ui/costs", method: .get, headers: [.cookie: session]).body)
            #expect(after.contains("the providers' bills <strong>$3.25</strong>"))
            #expect(after.contains("<th scope=\"row\">unallocated</th><td>$0.00</td><td>$3.25</td><td>+3.25</td>"))
        }
    }

    @Test func pagesNeedASessionFormsNeedTheirTokenAndTenantsSeeOnlyTheirOwn() async throws {
        let world = try await IsolationMatrixTests().makeWorld(store: MemoryStore())
        let app = try buildApplication(plane: world.plane, directory: world.directory, port: 0)
        let admin = try #require(world.secrets[.admin])
        try await app.test(.router) { client in
            // Without a session every page sends the browser to the sign-in page.
            for uri in ["/", "/ui/overview", "/ui/jobs"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .seeOther && response.headers[.location] == "/ui/sign-in", "\(uri)")
            }
            let signInPage = try await client.execute(uri: "/ui/sign-in", method: .get)
            #expect(signInPage.status == .ok && String(buffer: signInPage.body).contains("<label for=\"token\">"))
            let signInFields = try await signInForm(client)
            let refused = try await client.execute(
                uri: "/ui/sign-in",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: signInFields.cookie],
                body: ByteBuffer(string: "token=allot_wrong&csrf=\(signInFields.value)")
            )
            #expect(refused.status == .unauthorized && refused.headers[.setCookie]?.hasPrefix("allot_session") != true)
            // A sign-in posted from elsewhere (no form cookie, or a value that does not match) is refused, even with a
            // good token: no one can sign a browser into their account behind its back.
            for (cookie, value) in [(nil, signInFields.value), (signInFields.cookie, "forged")] {
                var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                if let cookie { headers[.cookie] = cookie }
                let forged = try await client.execute(
                    uri: "/ui/sign-in",
                    method: .post,
                    headers: headers,
                    body: ByteBuffer(string: "token=\(admin)&csrf=\(value)")
                )
                #expect(forged.status == .forbidden && forged.headers[.setCookie]?.hasPrefix("allot_session") != true)
            }

            let cookie = try await signIn(client, admin)
            var token = ""
            for uri in Self.pages {
                let response = try await client.execute(uri: uri, method: .get, headers: [.cookie: cookie])
                let html = String(buffer: response.body)
                #expect(response.status == .ok, "\(uri): \(html.prefix(300))")
                #expect(html.hasPrefix("<!doctype html>") && html.contains("<title>") && html.contains("<main id=\"content\">"))
                #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'self'") == true)
                // Nothing is fetched from elsewhere.
                #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url(http"), "\(uri)")
                token = try csrf(in: html)
            }
            let offers = String(buffer: try await client.execute(uri: "/ui/offers?gpus=A100:8", method: .get, headers: [.cookie: cookie]).body)
            #expect(offers.contains("gpu_8x_a100"))

            // n1's agent reports (with its inventory, as after a restart): a slow run may have let the tick mark it down.
            _ = try await world.plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: 4)))
            // A form without its CSRF token is refused; with it, the job is submitted and the browser sent to its page.
            let form = "command=echo+hello&tenant=acme&cpu=1&memory=1GiB&gpus=0&priority=0"
            let forged = try await client.execute(
                uri: "/ui/jobs",
                method: .post,
                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: form)
            )
            #expect(forged.status == .forbidden)
            let submitted = try await client.execute(
                uri: "/ui/jobs",
                method: .post,
                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: form + "&csrf=\(token)")
            )
            #expect(submitted.status == .seeOther)
            let location = try #require(submitted.headers[.location])
            let id = String(location.dropFirst("/ui/jobs/".count))
            let job = try await world.plane.job(JobID(id)).job
            #expect(job.command == ["sh", "-c", "echo hello"] && job.tenant == "acme")
            let jobPage = String(buffer: try await client.execute(uri: location, method: .get, headers: [.cookie: cookie]).body)
            #expect(jobPage.contains("Job \(id)") && jobPage.contains("echo hello"))

            // The cookie reads the API (the pages' scripts) but never writes it.
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: [.cookie: cookie]).status == .ok)
            let write = try await client.execute(
                uri: "/v1/jobs",
                method: .post,
                headers: [.cookie: cookie, .contentType: "application/json"],
                body: ByteBuffer(string: #"{"command":["true"]}"#)
            )
            #expect(write.status == .unauthorized)

            // A member of globex sees globex's job and not acme's.
            let member = try await signIn(client, world.otherTokenSecret)
            let listing = try await client.execute(uri: "/ui/jobs", method: .get, headers: [.cookie: member])
            let jobs = String(buffer: listing.body)
            // The page in the message: a run of the whole test process once saw this fail, and passed alone.
            let rows = jobs.components(separatedBy: "<tbody>").dropFirst().first?.prefix(1_500) ?? jobs.prefix(1_500)
            #expect(listing.status == .ok && jobs.contains(">\(world.other)<"), "\(listing.status): \(rows)")
            #expect(!jobs.contains(">\(world.own)<") && !jobs.contains(">\(id)<"), "\(rows)")
            let hidden = try await client.execute(uri: "/ui/jobs/\(world.own)", method: .get, headers: [.cookie: member])
            #expect(hidden.status == .notFound)
            let tenants = String(buffer: try await client.execute(uri: "/ui/tenants", method: .get, headers: [.cookie: member]).body)
            #expect(tenants.contains("globex") && !tenants.contains("acme-vision") && !tenants.contains("Create token"))
            // Signing out clears the cookie.
            let memberToken = try csrf(in: jobs)
            let out = try await client.execute(
                uri: "/ui/sign-out",
                method: .post,
                headers: [.cookie: member, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "csrf=\(memberToken)")
            )
            #expect(out.status == .seeOther && out.headers[.setCookie]?.contains("Max-Age=0") == true)
        }
    }
}
