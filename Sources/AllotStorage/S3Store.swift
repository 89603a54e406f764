import AllotAWS
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// An S3 bucket and prefix, spoken over S3's REST API with Signature Version 4 (bodies sent as
/// `UNSIGNED-PAYLOAD`, each checked by its `Content-MD5`). Addressed by path on an explicit endpoint
/// (`AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`), virtual-hosted on AWS itself.
public struct S3Store: ObjectStore {
    public let bucket: String
    public let prefix: String
    public let region: String
    public let credentials: AWSCredentials
    public let endpoint: URL?
    public let partSize: Int64
    let http: HTTPClient

    public init(
        bucket: String,
        prefix: String,
        region: String,
        credentials: AWSCredentials,
        endpoint: URL?,
        partSize: Int64 = 16 << 20,
        http: HTTPClient = .shared
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.credentials = credentials
        self.endpoint = endpoint
        self.partSize = partSize
        self.http = http
    }

    /// From the standard AWS environment variables.
    public static func fromEnvironment(
        bucket: String,
        prefix: String,
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(StorageError) -> S3Store {
        guard let credentials = AWSCredentials.fromEnvironment(environment) else {
            throw StorageError(code: "NoCredentials", message: "s3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let endpoint = [environment["AWS_ENDPOINT_URL_S3"], environment["AWS_ENDPOINT_URL"]].compactMap { $0 }.first { !$0.isEmpty }
        return S3Store(
            bucket: bucket,
            prefix: prefix,
            region: environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1",
            credentials: credentials,
            endpoint: endpoint.flatMap(URL.init(string:))
        )
    }

    public var url: String { "s3://\(bucket)/\(prefix)" }

    /// One signed request; `key` is the object's full name (nil for the bucket).
    func send(
        _ method: HTTPMethod,
        key: String?,
        query: [(String, String)] = [],
        headers extra: [(String, String)] = [],
        body: ByteBuffer? = nil,
        expect: Set<Int> = [200]
    ) async throws(StorageError) -> StorageResponse {
        let request = signedRequest(method, key: key, query: query, headers: extra, body: body)
        let response = try await http.exchange(request, partSize: partSize, what: "\(method.rawValue) \(url)\(key.map { " " + $0 } ?? "")")
        let (status, data) = (response.status, response.body)
        guard expect.contains(status) else { throw Self.failure(method, bucket: bucket, key: key, status: status, body: data) }
        return response
    }

    /// The error a refusal names in its XML body.
    static func failure(_ method: HTTPMethod, bucket: String, key: String?, status: Int, body: ByteBuffer) -> StorageError {
        let xml = AWSXMLElement.parse(Data(body.readableBytesView))
        let code = xml?.value("Code") ?? "HTTP\(status)"
        return StorageError(
            code: code,
            message: "\(method.rawValue) \(bucket)/\(key ?? ""): " + (xml?.value("Message") ?? "answered \(status)"),
            retryable: status >= 500 || code == "SlowDown"
        )
    }

    /// A request signed with Signature Version 4; `key` is the object's full name (nil for the bucket).
    func signedRequest(
        _ method: HTTPMethod,
        key: String?,
        query: [(String, String)] = [],
        headers extra: [(String, String)] = [],
        body: ByteBuffer? = nil
    ) -> HTTPClientRequest {
        let encodedKey = key.map {
            $0.split(separator: "/", omittingEmptySubsequences: false).map { SigV4Signer.encode(String($0)) }.joined(separator: "/")
        }
        let host: String
        var path: String
        if let endpoint {
            host = endpoint.port.map { "\(endpoint.host ?? ""):\($0)" } ?? (endpoint.host ?? "")
            path = "/" + bucket + (encodedKey.map { "/" + $0 } ?? "")
        } else {
            host = "\(bucket).s3.\(region).amazonaws.com"
            path = "/" + (encodedKey ?? "")
        }
        let base = endpoint.map { "\($0.scheme ?? "http")://\(host)" } ?? "https://\(host)"
        let queryText = query.map { SigV4Signer.encode($0.0) + "=" + SigV4Signer.encode($0.1) }.joined(separator: "&")
        var unsigned = SigV4Signer.Request(method: method.rawValue, path: path, query: query, headers: [("Host", host)] + extra)
        if body != nil { unsigned.payloadHash = "UNSIGNED-PAYLOAD" }
        // The signer takes the path decoded and encodes it itself.
        unsigned.path = "/" + (endpoint == nil ? "" : bucket + (key.map { _ in "/" } ?? "")) + (key ?? "")
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        var request = HTTPClientRequest(url: base + path + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        for (name, value) in signer.signed(unsigned, at: Date()) where name != "Host" { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        return request
    }

    /// One GET of the whole object, its body handed on as it arrives.
    public func chunks(_ key: String, size: Int64) async throws(StorageError) -> any AsyncSequence<ByteBuffer, any Error> {
        let request = signedRequest(.GET, key: prefix + key)
        return try await http.streaming(request, what: "GET \(url)\(key)") { status, body throws(StorageError) in
            throw Self.failure(.GET, bucket: bucket, key: prefix + key, status: status, body: body)
        }
    }

    /// Creates the bucket (in the store's region); one that exists and is the caller's is fine.
    public func createBucket() async throws(StorageError) {
        let body =
            region == "us-east-1"
            ? nil
            : ByteBuffer(string: "<CreateBucketConfiguration><LocationConstraint>\(region)</LocationConstraint></CreateBucketConfiguration>")
        do { _ = try await send(.PUT, key: nil, body: body) } catch  where error.code == "BucketAlreadyOwnedByYou" {}
    }

    public func list() async throws(StorageError) -> [StoredObject] {
        var found: [StoredObject] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.GET, key: nil, query: query)
            guard let root = AWSXMLElement.parse(Data(response.body.readableBytesView)) else {
                throw StorageError(code: "InvalidResponse", message: "ListObjectsV2 on \(bucket) did not answer XML")
            }
            for item in root.children where item.name == "Contents" {
                guard let key = item.value("Key"), key.hasPrefix(prefix) else { continue }
                found.append(
                    StoredObject(
                        key: String(key.dropFirst(prefix.count)),
                        size: Int64(item.value("Size") ?? "") ?? 0,
                        md5: Self.md5(etag: item.value("ETag")),
                        // Informational only: an unparsable date is left out.
                        modified: item.value("LastModified").flatMap { try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) }
                    )
                )
            }
            token = root.value("IsTruncated") == "true" ? root.value("NextContinuationToken") : nil
        } while token != nil
        return found
    }

    /// An ETag is the content's MD5 for a single-part upload; a multipart one (`…-N`) is not.
    static func md5(etag: String?) -> String? {
        guard let etag = etag?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")), etag.count == 32, !etag.contains("-") else { return nil }
        return etag.lowercased()
    }

    public func read(_ key: String, range: Range<Int64>?) async throws(StorageError) -> ByteBuffer {
        let headers = range.map { [("Range", "bytes=\($0.lowerBound)-\($0.upperBound - 1)")] } ?? []
        return try await send(.GET, key: prefix + key, headers: headers, expect: [200, 206]).body
    }

    public func write(_ key: String, _ data: ByteBuffer, md5: String) async throws(StorageError) -> StoredObject {
        let response = try await send(
            .PUT,
            key: prefix + key,
            headers: [("Content-MD5", Self.base64(hex: md5)), ("x-amz-meta-allot-md5", md5)],
            body: data
        )
        let etag = Self.md5(etag: response.headers.first(name: "ETag"))
        guard etag == nil || etag == md5 else {
            throw StorageError(code: "ChecksumMismatch", message: "\(url)\(key): stored as \(etag ?? "?"), sent \(md5)")
        }
        return StoredObject(key: key, size: Int64(data.readableBytes), md5: md5)
    }

    public func delete(_ key: String) async throws(StorageError) {
        _ = try await send(.DELETE, key: prefix + key, expect: [200, 204])
    }

    public func md5(of object: StoredObject) async throws(StorageError) -> String? {
        if let md5 = object.md5 { return md5 }
        let response = try await send(.HEAD, key: prefix + object.key)
        return response.headers.first(name: "x-amz-meta-allot-md5") ?? Self.md5(etag: response.headers.first(name: "ETag"))
    }

    static func base64(hex: String) -> String { Data(S3Upload.bytes(hex: hex)).base64EncodedString() }
}
