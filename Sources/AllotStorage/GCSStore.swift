import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A Google Cloud Storage bucket and prefix over the JSON API: listings, media downloads with ranges, multipart
/// (metadata and media) uploads for small objects, and parallel composite uploads for large ones (16 MiB
/// parts, then `compose`; see `GCSStore+Compose.swift`). The endpoint is
/// `STORAGE_EMULATOR_HOST` when set, as Google's client libraries read it (no credentials then), otherwise
/// `https://storage.googleapis.com` with a bearer token.
public struct GCSStore: ObjectStore {
    public let bucket: String
    public let prefix: String
    public let endpoint: String
    /// Where `Authorization: Bearer …` comes from; absent for an emulator.
    public let tokens: GCSTokenSource?
    public let partSize: Int64
    let http: HTTPClient

    public init(
        bucket: String,
        prefix: String,
        endpoint: String,
        token: String?,
        tokens: GCSTokenSource? = nil,
        partSize: Int64 = 16 << 20,
        http: HTTPClient = .shared
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.tokens = tokens ?? token.map(GCSTokenSource.init(token:))
        self.partSize = partSize
        self.http = http
    }

    /// The emulator named by `STORAGE_EMULATOR_HOST` (no credentials), or Google's endpoint (`ALLOT_GCS_ENDPOINT`
    /// overrides it) with `GOOGLE_OAUTH_ACCESS_TOKEN`, or else the service account key named by
    /// `GOOGLE_APPLICATION_CREDENTIALS`.
    public static func fromEnvironment(
        bucket: String,
        prefix: String,
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(StorageError) -> GCSStore {
        func named(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        if let host = named("STORAGE_EMULATOR_HOST") {
            let endpoint = host.contains("://") ? host : "http://" + host
            return GCSStore(bucket: bucket, prefix: prefix, endpoint: endpoint, token: nil)
        }
        let endpoint = named("ALLOT_GCS_ENDPOINT") ?? "https://storage.googleapis.com"
        let tokens: GCSTokenSource
        if let token = named("GOOGLE_OAUTH_ACCESS_TOKEN") {
            tokens = GCSTokenSource(token: token)
        } else if let path = named("GOOGLE_APPLICATION_CREDENTIALS") {
            tokens = GCSTokenSource(serviceAccount: try GoogleServiceAccount(file: path))
        } else {
            throw StorageError(
                code: "NoCredentials",
                message:
                    "gs: set GOOGLE_APPLICATION_CREDENTIALS to a service account key, GOOGLE_OAUTH_ACCESS_TOKEN (`gcloud auth print-access-token`), or STORAGE_EMULATOR_HOST for an emulator"
            )
        }
        return GCSStore(bucket: bucket, prefix: prefix, endpoint: endpoint, token: nil, tokens: tokens)
    }

    public var url: String { "gs://\(bucket)/\(prefix)" }

    /// The JSON API's encoding of an object name in a path (every reserved character, `/` included).
    static func encode(_ name: String) -> String {
        name.addingPercentEncoding(
            withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        ) ?? name
    }

    func send(
        _ method: HTTPMethod,
        _ url: String,
        headers extra: [(String, String)] = [],
        body: ByteBuffer? = nil,
        expect: Set<Int> = [200]
    ) async throws(StorageError) -> StorageResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let tokens { request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.token())") }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) } else if method == .POST || method == .PUT { request.body = .bytes(ByteBuffer()) }
        let response = try await http.exchange(request, partSize: partSize, what: "\(method.rawValue) \(url)")
        let (status, data) = (response.status, response.body)
        guard expect.contains(status) else {
            let json = try? JSONSerialization.jsonObject(with: Data(data.readableBytesView)) as? [String: Any]  // an error body, when JSON
            let message = (json?["error"] as? [String: Any])?["message"] as? String ?? String(buffer: data).prefix(200).description
            throw StorageError(
                code: status == 404 ? "NotFound" : "HTTP\(status)",
                message: "\(method.rawValue) \(self.url): \(message)",
                retryable: status >= 500 || status == 429
            )
        }
        return response
    }

    static func object(_ json: [String: Any], prefix: String) -> StoredObject? {
        guard let name = json["name"] as? String, name.hasPrefix(prefix) else { return nil }
        let size = Int64(json["size"] as? String ?? "") ?? (json["size"] as? Int64) ?? 0
        let md5 = (json["metadata"] as? [String: String])?["allot-md5"] ?? (json["md5Hash"] as? String).flatMap(MD5Digest.hex(base64:))
        return StoredObject(key: String(name.dropFirst(prefix.count)), size: size, md5: md5)
    }

    /// Creates the bucket; one that exists is fine.
    public func createBucket(project: String = "allot") async throws(StorageError) {
        let url = "\(endpoint)/storage/v1/b?project=\(Self.encode(project))"
        let body = ByteBuffer(string: try Self.json(["name": bucket]))
        _ = try await send(.POST, url, headers: [("Content-Type", "application/json")], body: body, expect: [200, 409])
    }

    public func list() async throws(StorageError) -> [StoredObject] {
        try await items(under: prefix).compactMap { item in
            // The parts of unfinished composite uploads are Allot's own, never an object to copy.
            guard let name = item["name"] as? String, !name.hasPrefix(Self.partsRoot) else { return nil }
            return Self.object(item, prefix: prefix)
        }
    }

    /// Every object whose full name starts with `namePrefix`, as the JSON API describes it.
    func items(under namePrefix: String) async throws(StorageError) -> [[String: Any]] {
        var found: [[String: Any]] = []
        var page: String?
        repeat {
            var url = "\(endpoint)/storage/v1/b/\(Self.encode(bucket))/o?prefix=\(Self.encode(namePrefix))&maxResults=1000"
            if let page { url += "&pageToken=\(Self.encode(page))" }
            let response = try await send(.GET, url)
            guard let json = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] else {  // checked below
                throw StorageError(code: "InvalidResponse", message: "listing \(self.url) did not answer JSON")
            }
            found += json["items"] as? [[String: Any]] ?? []
            page = json["nextPageToken"] as? String
        } while page != nil
        return found
    }

    public func read(_ key: String, range: Range<Int64>?) async throws(StorageError) -> ByteBuffer {
        let headers = range.map { [("Range", "bytes=\($0.lowerBound)-\($0.upperBound - 1)")] } ?? []
        let url = "\(endpoint)/storage/v1/b/\(Self.encode(bucket))/o/\(Self.encode(prefix + key))?alt=media"
        return try await send(.GET, url, headers: headers, expect: [200, 206]).body
    }

    /// One media download of the whole object, its body handed on as it arrives.
    public func chunks(_ key: String, size: Int64) async throws(StorageError) -> any AsyncSequence<ByteBuffer, any Error> {
        var request = HTTPClientRequest(url: "\(endpoint)/storage/v1/b/\(Self.encode(bucket))/o/\(Self.encode(prefix + key))?alt=media")
        request.method = .GET
        if let tokens { request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.token())") }
        let url = self.url
        return try await http.streaming(request, what: "GET \(url)\(key)") { status, body throws(StorageError) in
            throw StorageError(
                code: status == 404 ? "NotFound" : "HTTP\(status)",
                message: "GET \(url)\(key): \(String(buffer: body).prefix(200))",
                retryable: status >= 500 || status == 429
            )
        }
    }

    public func write(_ key: String, _ data: ByteBuffer, md5: String) async throws(StorageError) -> StoredObject {
        _ = try await put(name: prefix + key, data, md5: md5, metadata: ["allot-md5": md5])
        return StoredObject(key: key, size: Int64(data.readableBytes), md5: md5)
    }

    /// A multipart (metadata + media) upload of a whole object under its full name, checked against the
    /// `md5Hash` GCS computed; the object's description as GCS answered it.
    func put(name: String, _ data: ByteBuffer, md5: String, metadata: [String: String]) async throws(StorageError) -> [String: Any] {
        let boundary = "allot-" + UUID().uuidString
        let description = try Self.json(["name": name, "metadata": metadata])
        var body = ByteBuffer(
            string:
                "--\(boundary)\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n\(description)\r\n--\(boundary)\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        body.writeImmutableBuffer(data)
        body.writeString("\r\n--\(boundary)--\r\n")
        let url = "\(endpoint)/upload/storage/v1/b/\(Self.encode(bucket))/o?uploadType=multipart"
        let response = try await send(.POST, url, headers: [("Content-Type", "multipart/related; boundary=\(boundary)")], body: body)
        try verify(response, key: String(name.dropFirst(prefix.count)), md5: md5)
        return (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]) ?? [:]  // checked by verify
    }

    /// Checks the `md5Hash` GCS computed against the one sent.
    func verify(_ response: StorageResponse, key: String, md5: String) throws(StorageError) {
        let json = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]  // checked below
        if let stored = (json?["md5Hash"] as? String).flatMap(MD5Digest.hex(base64:)), stored != md5 {
            throw StorageError(code: "ChecksumMismatch", message: "\(url)\(key): stored as \(stored), sent \(md5)")
        }
    }

    static func json(_ value: [String: Any]) throws(StorageError) -> String {
        do { return String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self) } catch {
            throw StorageError(code: "InvalidRequest", message: "\(error)")
        }
    }

    public func delete(_ key: String) async throws(StorageError) {
        _ = try await send(.DELETE, "\(endpoint)/storage/v1/b/\(Self.encode(bucket))/o/\(Self.encode(prefix + key))", expect: [200, 204])
    }

    /// The listing's MD5, or the object's metadata read again (a composite object has no `md5Hash`).
    public func md5(of object: StoredObject) async throws(StorageError) -> String? {
        if let md5 = object.md5 { return md5 }
        let response = try await send(.GET, "\(endpoint)/storage/v1/b/\(Self.encode(bucket))/o/\(Self.encode(prefix + object.key))")
        let json = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]  // not JSON: no digest
        return json.flatMap { Self.object($0, prefix: prefix)?.md5 }
    }
}
