import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import _CryptoExtras

/// A Google service account's key file (`GOOGLE_APPLICATION_CREDENTIALS`): its e-mail, RSA private key and
/// token endpoint.
public struct GoogleServiceAccount: Sendable, Equatable {
    public var clientEmail: String
    public var privateKeyPEM: String
    public var tokenURI: String

    /// The scope Allot asks for: reading and writing objects.
    public static let storageScope = "https://www.googleapis.com/auth/devstorage.read_write"

    /// Reads a key file as `gcloud iam service-accounts keys create` writes it.
    public init(file path: String) throws(StorageError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StorageError(code: "NoCredentials", message: "GOOGLE_APPLICATION_CREDENTIALS: cannot read \(path)")
        }
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]  // not JSON: refused below
        guard let json, json["type"] as? String == "service_account", let email = json["client_email"] as? String,
            let key = json["private_key"] as? String
        else {
            throw StorageError(
                code: "NoCredentials",
                message: "\(path): not a service account key (type service_account, client_email, private_key)"
            )
        }
        clientEmail = email
        privateKeyPEM = key
        tokenURI = json["token_uri"] as? String ?? "https://oauth2.googleapis.com/token"
    }

    /// A signed JWT asking for `scope` (RS256, valid an hour from `now`), as Google's OAuth 2.0 server-to-server
    /// flow wants it.
    public func assertion(scope: String = storageScope, now: Date = Date()) throws(StorageError) -> String {
        let issued = Int(now.timeIntervalSince1970)
        let header = ["alg": "RS256", "typ": "JWT"]
        let claims: [String: Any] = ["iss": clientEmail, "scope": scope, "aud": tokenURI, "iat": issued, "exp": issued + 3_600]
        do {
            let key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
            let unsigned =
                Self.base64URL(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) + "."
                + Self.base64URL(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
            let signature = try key.signature(for: Data(unsigned.utf8), padding: .insecurePKCS1v1_5)
            return unsigned + "." + Self.base64URL(signature.rawRepresentation)
        } catch {
            throw StorageError(code: "NoCredentials", message: "the service account's private key cannot sign: \(error)")
        }
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Where a GCS store's bearer token comes from: none (an emulator), a fixed token, or a service account whose
/// token is fetched when first needed and again five minutes before it expires.
public final class GCSTokenSource: Sendable {
    enum Kind: Sendable {
        case fixed(String)
        case serviceAccount(GoogleServiceAccount)
    }

    let kind: Kind
    let http: HTTPClient
    private let cached = Mutex<(token: String, expires: Date)?>(nil)

    public init(token: String) {
        kind = .fixed(token)
        http = .shared
    }

    public init(serviceAccount: GoogleServiceAccount, http: HTTPClient = .shared) {
        kind = .serviceAccount(serviceAccount)
        self.http = http
    }

    /// A token good for at least five more minutes.
    public func token() async throws(StorageError) -> String {
        switch kind {
        case .fixed(let token): return token
        case .serviceAccount(let account):
            if let cached = cached.withLock({ $0 }), cached.expires.timeIntervalSinceNow > 300 { return cached.token }
            let fresh = try await exchange(account)
            cached.withLock { $0 = fresh }
            return fresh.token
        }
    }

    /// The JWT-bearer grant: a signed assertion for an access token.
    func exchange(_ account: GoogleServiceAccount) async throws(StorageError) -> (token: String, expires: Date) {
        let assertion = try account.assertion()
        var request = HTTPClientRequest(url: account.tokenURI)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let form = "grant_type=" + "urn:ietf:params:oauth:grant-type:jwt-bearer".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        request.body = .bytes(ByteBuffer(string: form + "&assertion=" + assertion))
        let response = try await http.exchange(request, partSize: 1 << 20, what: "POST \(account.tokenURI)")
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]  // checked below
        guard response.status == 200, let token = json?["access_token"] as? String else {
            let reason = json?["error_description"] as? String ?? json?["error"] as? String ?? "HTTP \(response.status)"
            throw StorageError(code: "NoCredentials", message: "\(account.clientEmail): the token endpoint refused the key: \(reason)")
        }
        let lifetime = (json?["expires_in"] as? NSNumber)?.doubleValue ?? 3_600
        return (token, Date().addingTimeInterval(lifetime))
    }
}
