import Crypto
import Foundation
import Testing

@testable import AllotAWS

/// Every case of AWS's published Signature Version 4 test suite (Fixtures/SOURCE.md): the canonical request,
/// the string to sign and the `Authorization` header, byte for byte.
@Suite struct SigV4Tests {
    struct Suite: Decodable {
        struct Config: Decodable {
            var service: String
            var region: String
            var accessKeyId: String
            var secretAccessKey: String
        }
        struct Case: Decodable {
            struct HTTPRequest: Decodable {
                var method: String
                var path: String
                var query: String
                var headers: [[String]]
                var body: String
            }
            var name: String
            var request: HTTPRequest
            var creq: String
            var sts: String
            var authz: String
        }
        var config: Config
        var tests: [String: [Case]]
    }

    static let suite: Suite = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/aws-sig-v4-test-suite.json")
        // The fixture is part of the repository; a missing or broken one fails every case below.
        return (try? JSONDecoder().decode(Suite.self, from: Data(contentsOf: url)))
            ?? Suite(
                config: .init(service: "", region: "", accessKeyId: "", secretAccessKey: ""),
                tests: [:]
            )
    }()

    static var cases: [String] {
        (suite.tests["basic"] ?? []).map(\.name) + (suite.tests["normalizePath"] ?? []).map(\.name) + ["post-sts-header-before"]
    }

    static let inconsistent: Set<String> = ["post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters"]

    /// The two cases left out of the signature check are inconsistent in the suite itself.
    @Test func theTwoCasesLeftOutAreInconsistentInTheSuite() throws {
        for name in Self.inconsistent {
            let test = try #require(Self.suite.tests["all"]?.first { $0.name == name })
            let hash = SigV4Signer.hex(SHA256.hash(data: Data(test.creq.utf8)))
            #expect(test.sts.split(separator: "\n").last.map(String.init) != hash, "\(name)")
        }
    }

    @Test func theSuiteIsThere() {
        #expect((Self.suite.tests["basic"] ?? []).count == 20)
        #expect((Self.suite.tests["normalizePath"] ?? []).count == 6)
    }

    @Test(arguments: cases)
    func matchesAWS(name: String) throws {
        let test = try #require(Self.suite.tests["all"]?.first { $0.name == name })
        let config = Self.suite.config
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: config.accessKeyId, secretAccessKey: config.secretAccessKey),
            region: config.region,
            service: config.service
        )
        let query: [(name: String, value: String)] =
            test.request.query.isEmpty
            ? []
            : test.request.query.split(separator: "&").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1] : "")
            }
        let request = SigV4Signer.Request(
            method: test.request.method,
            path: test.request.path,
            query: query,
            headers: test.request.headers.map { ($0[0], $0[1]) },
            body: Array(test.request.body.utf8)
        )
        let amzDate = try #require(test.request.headers.first { $0[0].lowercased() == "x-amz-date" }?[1])
        let canonical = signer.canonicalRequest(request).text
        #expect(canonical == test.creq)
        // In two cases the suite's own string to sign is not the hash of its canonical request (checked with
        // any SHA-256): no signer can match both; the canonical request is what is checked there.
        guard !Self.inconsistent.contains(name) else { return }
        #expect(signer.stringToSign(canonicalRequest: canonical, amzDate: amzDate) == test.sts)
        #expect(signer.authorization(request, amzDate: amzDate) == test.authz)
    }

    @Test func signedAddsTheDateTokenAndAuthorization() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "token"),
            region: "us-east-1",
            service: "ec2"
        )
        let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
        let headers = signer.signed(.init(method: "GET", path: "/", headers: [("Host", "ec2.us-east-1.amazonaws.com")]), at: date)
        #expect(headers.first { $0.name == "X-Amz-Date" }?.value == "20150830T123600Z")
        #expect(headers.first { $0.name == "X-Amz-Security-Token" }?.value == "token")
        let authorization = try #require(headers.last { $0.name == "Authorization" }?.value)
        #expect(
            authorization.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
            )
        )
        #expect(
            AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
                == AWSCredentials(accessKeyID: "a", secretAccessKey: "b")
        )
        #expect(AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "a"]) == nil)
    }
}
