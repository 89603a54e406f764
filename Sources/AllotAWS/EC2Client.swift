import AllotCloud
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Where EC2 answers: `AWS_ENDPOINT_URL_EC2`, else `AWS_ENDPOINT_URL`, else `https://ec2.REGION.amazonaws.com`.
public struct EC2Endpoint: Sendable, Equatable {
    /// An explicit endpoint (a local server, a VPC endpoint); `nil` for AWS's own per region.
    public var override: URL?

    public init(override: URL? = nil) { self.override = override }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> EC2Endpoint {
        let text = [environment["AWS_ENDPOINT_URL_EC2"], environment["AWS_ENDPOINT_URL"]].compactMap { $0 }.first { !$0.isEmpty }
        return EC2Endpoint(override: text.flatMap(URL.init(string:)))
    }

    public func url(region: String) -> URL {
        override ?? URL(string: "https://ec2.\(region).amazonaws.com/")!
    }
}

/// The EC2 Query API: form-encoded `POST`s signed with Signature Version 4, XML answers. Throttling, server
/// errors and failed connections are retried with exponential backoff; every other error is reported with
/// AWS's own code.
public struct EC2Client: Sendable {
    public static let apiVersion = "2016-11-15"
    /// AWS error codes worth another try (throttling, AWS's own transient faults).
    static let retryableCodes: Set<String> = [
        "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled", "InternalError", "InternalFailure",
        "ServiceUnavailable", "Unavailable",
    ]

    public var credentials: AWSCredentials
    public var endpoint: EC2Endpoint
    /// Tries per call, the first included.
    public var attempts: Int
    /// The first backoff; it doubles each retry (with up to half again of jitter).
    public var backoff: Duration
    public var timeout: Duration
    let http: HTTPClient

    public init(
        credentials: AWSCredentials,
        endpoint: EC2Endpoint = .fromEnvironment(),
        attempts: Int = 4,
        backoff: Duration = .milliseconds(200),
        timeout: Duration = .seconds(30),
        http: HTTPClient = .shared
    ) {
        self.credentials = credentials
        self.endpoint = endpoint
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self.http = http
    }

    /// Calls `action` in `region` with `parameters`, retrying what may pass later; the answer's root element.
    public func call(_ action: String, region: String, _ parameters: [(String, String)]) async throws(CloudProviderError) -> AWSXMLElement {
        var delay = backoff
        var attempt = 1
        while true {
            do {
                return try await once(action, region: region, parameters)
            } catch let error where error.retryable && attempt < attempts {
                let jitter = Double.random(in: 0..<0.5)
                do {
                    try await Task.sleep(for: delay + delay * jitter)
                } catch {
                    throw CloudProviderError(code: "Cancelled", message: "\(action) was cancelled while waiting to retry")
                }
                delay *= 2
                attempt += 1
            }
        }
    }

    /// One signed request, no retry.
    func once(_ action: String, region: String, _ parameters: [(String, String)]) async throws(CloudProviderError) -> AWSXMLElement {
        let url = endpoint.url(region: region)
        let body = Self.formBody([("Action", action), ("Version", Self.apiVersion)] + parameters)
        let host = url.port.map { "\(url.host ?? ""):\($0)" } ?? (url.host ?? "")
        let path = url.path.isEmpty ? "/" : url.path
        let signer = SigV4Signer(credentials: credentials, region: region, service: "ec2")
        let unsigned = SigV4Signer.Request(
            method: "POST",
            path: path,
            headers: [("Host", host), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body: Array(body.utf8)
        )
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for (name, value) in signer.signed(unsigned, at: Date()) where name != "Host" {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(string: body))
        let status: Int
        let data: Data
        do {
            let response = try await http.execute(request, timeout: .seconds(max(1, timeout.components.seconds)))
            status = Int(response.status.code)
            data = Data(try await response.body.collect(upTo: 32 << 20).readableBytesView)
        } catch {
            throw CloudProviderError(code: "RequestFailed", message: "\(action) to \(url.absoluteString): \(error)", retryable: true)
        }
        guard let root = AWSXMLElement.parse(data) else {
            throw CloudProviderError(
                code: "InvalidResponse",
                message: "\(action): HTTP \(status) with a body that is not XML (\(data.count) bytes)",
                status: status,
                retryable: status >= 500
            )
        }
        if let error = root.descendants("Error").first, status >= 300 || root.name == "Response" {
            let code = error.value("Code") ?? "HTTP\(status)"
            let requestID = root.value("RequestID") ?? root.value("RequestId")
            throw CloudProviderError(
                code: code,
                message: (error.value("Message") ?? "no message") + (requestID.map { " (request \($0))" } ?? ""),
                status: status,
                retryable: Self.retryableCodes.contains(code) || status >= 500
            )
        }
        guard (200..<300).contains(status) else {
            throw CloudProviderError(code: "HTTP\(status)", message: "\(action) answered \(status)", status: status, retryable: status >= 500)
        }
        return root
    }

    /// `application/x-www-form-urlencoded`, encoded as SigV4 encodes (RFC 3986 unreserved kept).
    static func formBody(_ parameters: [(String, String)]) -> String {
        parameters.map { SigV4Signer.encode($0.0) + "=" + SigV4Signer.encode($0.1) }.joined(separator: "&")
    }
}
