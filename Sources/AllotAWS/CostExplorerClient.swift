import AllotAPI
import AllotCloud
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// AWS Cost Explorer's `GetCostAndUsage` (and `GetCostAndUsageWithResources` for per-resource costs): signed
/// JSON `POST`s to `https://ce.us-east-1.amazonaws.com/` (or `AWS_ENDPOINT_URL_COST_EXPLORER`,
/// `AWS_ENDPOINT_URL`), daily, every page followed. Throttling and server errors are retried with backoff.
public struct CostExplorerClient: Sendable {
    /// How the costs are grouped, which decides what a row's `resource` is.
    public enum Grouping: Sendable, Equatable {
        /// Per resource id (an instance id): `GetCostAndUsageWithResources`, which AWS answers for the last 14
        /// days and for EC2 compute only.
        case resource
        /// Per value of a cost allocation tag (`tag:Name`, the node's name on machines Allot bought).
        case tag(String)
        /// Per service, with no resource.
        case service

        public init?(_ text: String) {
            switch text {
            case "resource": self = .resource
            case "service": self = .service
            default:
                guard text.hasPrefix("tag:"), text.count > 4 else { return nil }
                self = .tag(String(text.dropFirst(4)))
            }
        }
    }

    public var credentials: AWSCredentials
    public var endpoint: URL
    public var attempts: Int
    let http: HTTPClient

    public init(credentials: AWSCredentials, endpoint: URL? = nil, attempts: Int = 4, http: HTTPClient = .shared) {
        self.credentials = credentials
        self.endpoint = endpoint ?? URL(string: "https://ce.us-east-1.amazonaws.com/")!
        self.attempts = max(1, attempts)
        self.http = http
    }

    /// The endpoint the environment names, if any.
    public static func endpoint(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        [environment["AWS_ENDPOINT_URL_COST_EXPLORER"], environment["AWS_ENDPOINT_URL"]].compactMap { $0 }.first { !$0.isEmpty }
            .flatMap(URL.init(string:))
    }

    /// Daily billed rows for the days `start..<end` (`YYYY-MM-DD`), one per group and day.
    public func billedCosts(
        start: String,
        end: String,
        grouping: Grouping,
        metric: String = "UnblendedCost"
    ) async throws(CloudProviderError) -> [BilledCost] {
        var request: [String: Any] = [
            "TimePeriod": ["Start": start, "End": end], "Granularity": "DAILY", "Metrics": [metric],
        ]
        let target: String
        switch grouping {
        case .resource:
            target = "GetCostAndUsageWithResources"
            request["GroupBy"] = [["Type": "DIMENSION", "Key": "RESOURCE_ID"]]
            request["Filter"] = ["Dimensions": ["Key": "SERVICE", "Values": ["Amazon Elastic Compute Cloud - Compute"]]]
        case .tag(let key):
            target = "GetCostAndUsage"
            request["GroupBy"] = [["Type": "TAG", "Key": key], ["Type": "DIMENSION", "Key": "SERVICE"]]
        case .service:
            target = "GetCostAndUsage"
            request["GroupBy"] = [["Type": "DIMENSION", "Key": "SERVICE"]]
        }
        var rows: [BilledCost] = []
        var token: String?
        repeat {
            var page = request
            if let token { page["NextPageToken"] = token }
            let answer = try await call(target, page)
            for period in answer["ResultsByTime"] as? [[String: Any]] ?? [] {
                guard let day = (period["TimePeriod"] as? [String: Any])?["Start"] as? String else { continue }
                for group in period["Groups"] as? [[String: Any]] ?? [] {
                    let keys = group["Keys"] as? [String] ?? []
                    guard let amount = ((group["Metrics"] as? [String: Any])?[metric] as? [String: Any]) else { continue }
                    let (resource, service) = Self.resourceAndService(keys, grouping)
                    rows.append(
                        BilledCost(
                            source: "aws-cost-explorer",
                            day: String(day.prefix(10)),
                            resource: resource,
                            service: service,
                            cloud: "aws",
                            cost: Double(amount["Amount"] as? String ?? "") ?? 0,
                            currency: amount["Unit"] as? String ?? "USD"
                        )
                    )
                }
            }
            token = (answer["NextPageToken"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return BilledCost.merged(rows)
    }

    /// A group's keys as (resource, service): a tag key comes as `KEY$VALUE` (an untagged charge has an empty
    /// value, hence no resource).
    static func resourceAndService(_ keys: [String], _ grouping: Grouping) -> (String, String) {
        switch grouping {
        case .resource: return (keys.first ?? "", "Amazon Elastic Compute Cloud - Compute")
        case .service: return ("", keys.first ?? "")
        case .tag:
            let tag = keys.first ?? ""
            let value = tag.firstIndex(of: "$").map { String(tag[tag.index(after: $0)...]) } ?? tag
            return (value, keys.count > 1 ? keys[1] : "")
        }
    }

    /// One operation with retries on throttling, server errors and failed connections.
    func call(_ target: String, _ body: [String: Any]) async throws(CloudProviderError) -> [String: Any] {
        var delay = Duration.milliseconds(200)
        var attempt = 1
        while true {
            do {
                return try await once(target, body)
            } catch let error where error.retryable && attempt < attempts {
                do { try await Task.sleep(for: delay) } catch { throw CloudProviderError(code: "Cancelled", message: "\(target) was cancelled") }
                delay *= 2
                attempt += 1
            }
        }
    }

    func once(_ target: String, _ body: [String: Any]) async throws(CloudProviderError) -> [String: Any] {
        let payload: [UInt8]
        do { payload = Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) } catch {
            throw CloudProviderError(code: "InvalidRequest", message: "\(error)")
        }
        let host = endpoint.port.map { "\(endpoint.host ?? ""):\($0)" } ?? (endpoint.host ?? "")
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "ce")
        let unsigned = SigV4Signer.Request(
            method: "POST",
            path: endpoint.path.isEmpty ? "/" : endpoint.path,
            headers: [
                ("Host", host), ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "AWSInsightsIndexService.\(target)"),
            ],
            body: payload
        )
        var request = HTTPClientRequest(url: endpoint.absoluteString)
        request.method = .POST
        for (name, value) in signer.signed(unsigned, at: Date()) where name != "Host" { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: payload))
        let status: Int
        let data: Data
        do {
            let response = try await http.execute(request, timeout: .seconds(60))
            status = Int(response.status.code)
            data = Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        } catch {
            throw CloudProviderError(code: "RequestFailed", message: "\(target) to \(endpoint.absoluteString): \(error)", retryable: true)
        }
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]  // an answer that is not JSON is reported below
        guard (200..<300).contains(status), let json else {
            let type = (json?["__type"] as? String).map { $0.split(separator: "#").last.map(String.init) ?? $0 } ?? "HTTP\(status)"
            let message = json?["message"] as? String ?? json?["Message"] as? String ?? String(decoding: data.prefix(200), as: UTF8.self)
            throw CloudProviderError(
                code: type,
                message: "\(target): \(message)",
                status: status,
                retryable: status >= 500 || status == 429 || type.contains("Throttling") || type == "LimitExceededException"
            )
        }
        return json
    }
}
