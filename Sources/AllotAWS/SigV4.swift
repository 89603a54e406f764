import AllotAPI
import Crypto
import Foundation

/// AWS credentials, read the standard way.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// A temporary credential's session token (`X-Amz-Security-Token`).
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; `nil` without the first two.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> AWSCredentials? {
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            return nil
        }
        return AWSCredentials(
            accessKeyID: key,
            secretAccessKey: secret,
            sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        )
    }
}

/// Signature Version 4, AWS's request signing (HMAC-SHA256 over a canonical form of the request), written
/// here on swift-crypto and checked against AWS's published test suite.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    /// Remove `.`/`..` segments and empty segments from the path before encoding (every service but S3).
    public var normalizesPath: Bool

    public init(credentials: AWSCredentials, region: String, service: String, normalizesPath: Bool? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = normalizesPath ?? (service != "s3")
    }

    /// A request to sign: the path and query decoded (they are encoded here), headers in order.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body (`UNSIGNED-PAYLOAD` is allowed where a service takes it).
        public var payloadHash: String

        public init(
            method: String,
            path: String,
            query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)],
            body: [UInt8] = []
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = SigV4Signer.hex(SHA256.hash(data: body))
        }
    }

    /// The canonical request and the signed header names (`host;x-amz-date`).
    public func canonicalRequest(_ request: Request) -> (text: String, signedHeaders: String) {
        var headers: [String: [String]] = [:]
        for (name, value) in request.headers { headers[name.lowercased(), default: []].append(Self.trimmed(value)) }
        let names = headers.keys.sorted()
        let signed = names.joined(separator: ";")
        let pairs: [(String, String)] = request.query.map { (Self.encode($0.name), Self.encode($0.value)) }
        let sorted = pairs.sorted { lhs, rhs in lhs.0 != rhs.0 ? lhs.0 < rhs.0 : lhs.1 < rhs.1 }
        let query = sorted.map { $0.0 + "=" + $0.1 }.joined(separator: "&")
        var lines: [String] = [request.method, Self.canonicalPath(request.path, normalize: normalizesPath), query]
        for name in names { lines.append(name + ":" + (headers[name] ?? []).joined(separator: ",")) }
        lines += ["", signed, request.payloadHash]
        return (lines.joined(separator: "\n"), signed)
    }

    /// The string to sign for a canonical request at `amzDate` (`20150830T123600Z`).
    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        ["AWS4-HMAC-SHA256", amzDate, scope(amzDate), Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
    }

    /// The `Authorization` header's value for a request whose headers include `X-Amz-Date` (and `Host`).
    public func authorization(_ request: Request, amzDate: String) -> String {
        let (canonical, signed) = canonicalRequest(request)
        let signature = sign(stringToSign(canonicalRequest: canonical, amzDate: amzDate), amzDate: amzDate)
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(amzDate)), SignedHeaders=\(signed), Signature=\(signature)"
    }

    /// Adds `X-Amz-Date`, `X-Amz-Content-Sha256` (S3), `X-Amz-Security-Token` (with a session token) and
    /// `Authorization` to a request's headers, signed at `date`.
    public func signed(_ request: Request, at date: Date) -> [(name: String, value: String)] {
        let amzDate = Self.amzDate(date)
        var request = request
        request.headers.append(("X-Amz-Date", amzDate))
        if service == "s3" { request.headers.append(("X-Amz-Content-Sha256", request.payloadHash)) }
        if let token = credentials.sessionToken { request.headers.append(("X-Amz-Security-Token", token)) }
        return request.headers + [("Authorization", authorization(request, amzDate: amzDate))]
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
    }

    private func scope(_ amzDate: String) -> String { "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request" }

    private func sign(_ stringToSign: String, amzDate: String) -> String {
        func hmac(_ key: [UInt8], _ text: String) -> [UInt8] {
            Array(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key)))
        }
        let date = hmac(Array("AWS4\(credentials.secretAccessKey)".utf8), String(amzDate.prefix(8)))
        let key = hmac(hmac(hmac(date, region), service), "aws4_request")
        return Hex.encode(hmac(key, stringToSign))
    }

    /// Each segment URI-encoded; with `normalize`, `.`, `..` and empty segments resolved first (RFC 3986).
    static func canonicalPath(_ path: String, normalize: Bool) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard normalize else {
            let encoded = segments.map(encode).joined(separator: "/")
            return encoded.hasPrefix("/") ? encoded : "/" + encoded
        }
        var kept: [String] = []
        for segment in segments {
            switch segment {
            case "", ".": continue
            case "..": _ = kept.popLast()
            default: kept.append(segment)
            }
        }
        let trailing = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
        return "/" + kept.map(encode).joined(separator: "/") + (trailing && !kept.isEmpty ? "/" : "")
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, upper-case hex, as SigV4 wants.
    public static func encode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }

    /// Leading and trailing spaces removed, runs of spaces made one.
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String { Hex.encode(digest) }
}
