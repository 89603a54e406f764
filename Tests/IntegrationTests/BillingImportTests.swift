import AllotAPI
import AllotAWS
import AllotClient
import AllotStorage
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// `allot billing import` as a real process: AWS Cost Explorer in moto's server, and a gzipped FOCUS file in
/// moto's S3, reconciled by `allot cost --source both` against Allot's estimate for the same two nodes.
@Suite(.serialized) struct BillingImportTests {
    struct Report: Decodable {
        struct Row: Decodable {
            var key: String
            var cost: Double
            var billed: Double?
            var difference: Double?
        }
        var total: Double
        var billedTotal: Double?
        var rows: [Row]
    }

    /// Runs `allot ARGUMENTS --output json` against the cluster, with moto's endpoints; decodes its answer.
    func allot<T: Decodable>(_ type: T.Type, _ arguments: [String], _ cluster: LiveCluster, _ moto: MotoServer) async throws -> T {
        try JSONDecoder().decode(T.self, from: try await output(arguments, cluster, moto))
    }

    func output(_ arguments: [String], _ cluster: LiveCluster, _ moto: MotoServer) async throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try allotExecutable())
        let server = arguments[0] == "data" ? [] : ["--server", cluster.url, "--token", cluster.adminToken]
        process.arguments = arguments + server + ["--output", "json"]
        process.environment = ProcessInfo.processInfo.environment.merging(moto.environment.merging(["HOME": cluster.directory]) { _, new in new }) {
            _,
            new in new
        }
        let (output, status) = try await runToEnd(process, mergingErrors: false)
        #expect(status == 0, "\(arguments): \(String(decoding: output, as: UTF8.self))")
        return output
    }

    @Test func costExplorerAndAFocusFileAreImportedOnceAndSitBesideTheEstimate() async throws {
        let cluster = try await LiveCluster()
        defer { cluster.stop() }
        let moto = try await MotoServer(directory: cluster.directory)
        defer { moto.stop() }
        // Two machines at high prices so that a few seconds cost whole cents: n1 is known by its instance id, n2
        // by the Name tag Cost Explorer groups by.
        try cluster.startAgent("n1", resources: "cpu=4,memory=8GiB", pricing: "cloud=aws,region=us-east-1,instance=i-0aaa,price=360")
        try cluster.startAgent("n2", resources: "cpu=4,memory=8GiB", pricing: "cloud=aws,region=us-east-1,price=720")
        let client = cluster.client
        let joined = ContinuousClock.now
        while try await client.nodes().filter({ $0.state == .ready }).count < 2 {
            guard ContinuousClock.now - joined < .seconds(60) else { throw LiveError("the agents did not join") }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(3))
        let today = CostDates.day(Date().timeIntervalSince1970)
        let tomorrow = CostDates.day(Date().timeIntervalSince1970 + 86_400)

        // Cost Explorer: what moto answers GetCostAndUsage with.
        let result: [String: Any] = [
            "ResultsByTime": [
                [
                    "TimePeriod": ["Start": today, "End": tomorrow], "Estimated": true, "Total": [:],
                    "Groups": [
                        [
                            "Keys": ["Name$n2", "Amazon Elastic Compute Cloud - Compute"],
                            "Metrics": ["UnblendedCost": ["Amount": "12.34", "Unit": "USD"]],
                        ],
                        ["Keys": ["Name$", "Tax"], "Metrics": ["UnblendedCost": ["Amount": "0.66", "Unit": "USD"]]],
                    ],
                ]
            ]
        ]
        var request = HTTPClientRequest(url: moto.url + "/moto-api/static/ce/cost-and-usage-results")
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["results": [result]])))
        #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(30)).status.code == 201)
        let explorer = ["billing", "import", "--cost-explorer", "--from", today, "--to", tomorrow, "--group-by", "tag:Name"]
        let first = try await allot(BillingImportResult.self, explorer, cluster, moto)
        #expect(first == BillingImportResult(added: 2, changed: 0, unchanged: 0, matched: 1, unmatched: 1))
        let second = try await allot(BillingImportResult.self, explorer, cluster, moto)
        #expect(second == BillingImportResult(added: 0, changed: 0, unchanged: 2, matched: 1, unmatched: 1))

        // A FOCUS export, gzipped, put in S3 with `allot data sync`: n1's hours summed into one row.
        let exports = cluster.directory + "/exports"
        try FileManager.default.createDirectory(atPath: exports, withIntermediateDirectories: true)
        let focus = """
            BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ProviderName,ResourceId,ServiceName
            4.00,USD,\(today)T00:00:00Z,\(today)T01:00:00Z,AWS,arn:aws:ec2:us-east-1:123456789012:instance/i-0aaa,Amazon EC2
            1.50,USD,\(today)T01:00:00Z,\(today)T02:00:00Z,AWS,arn:aws:ec2:us-east-1:123456789012:instance/i-0aaa,Amazon EC2

            """
        try focus.write(toFile: exports + "/focus-00001.csv", atomically: true, encoding: .utf8)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", exports + "/focus-00001.csv"]
        #expect(try await runToEnd(gzip).status == 0)
        let s3 = "s3://bills/aws/2026/"
        try await S3Store(
            bucket: "bills",
            prefix: "",
            region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"),
            endpoint: URL(string: moto.url)
        ).createBucket()
        _ = try await output(["data", "sync", exports, s3, "--no-progress"], cluster, moto)
        let fromFile = try await allot(BillingImportResult.self, ["billing", "import", s3], cluster, moto)
        #expect(fromFile == BillingImportResult(added: 1, changed: 0, unchanged: 0, matched: 1, unmatched: 0))
        #expect(try await allot(BillingImportResult.self, ["billing", "import", s3], cluster, moto).unchanged == 1)

        // Beside the estimate, per node: the bill, and the difference from Allot's list price × time.
        let report = try await allot(Report.self, ["cost", "--source", "both", "--group-by", "node", "--from", today], cluster, moto)
        let n1 = try #require(report.rows.first { $0.key == "n1" })
        let n2 = try #require(report.rows.first { $0.key == "n2" })
        let nobody = try #require(report.rows.first { $0.key == "unallocated" })
        #expect(n1.billed == 5.5 && n2.billed == 12.34 && nobody.billed == 0.66 && nobody.cost == 0)
        #expect(n1.cost > 0 && n2.cost > n1.cost, "the estimate accrues at 360 and 720 USD/h")
        for row in [n1, n2, nobody] { #expect(abs((row.difference ?? .nan) - ((row.billed ?? 0) - row.cost)) < 0.005, "\(row.key)") }
        #expect(report.billedTotal == 18.5)
    }
}
