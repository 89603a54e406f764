import AllotAPI
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The console's sign-in: the API token itself, kept in an HttpOnly, SameSite=Strict cookie (scripts cannot read
/// it; other sites cannot send it), and a CSRF token derived from it that every form carries.
enum WebSession {
    static let cookieName = "allot_session"
    /// Twelve hours.
    static let lifetimeSeconds = 43_200

    /// The sign-in form's own CSRF cookie (there is no session yet): the form repeats its value, which a page on
    /// another site can neither read nor make the browser send.
    static let signInCookieName = "allot_sign_in"

    /// The session token from the request's cookies.
    static func token(_ request: Request) -> String? { cookie(cookieName, request) }

    static func cookie(_ name: String, _ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == name, !pair[1].isEmpty { return String(pair[1]) }
            }
        }
        return nil
    }

    static func signInCookie(_ value: String) -> String {
        "\(signInCookieName)=\(value); Path=/ui/sign-in; HttpOnly; SameSite=Strict; Max-Age=3600"
    }

    static func setCookie(_ token: String) -> String {
        "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(lifetimeSeconds)"
    }

    static let clearCookie = "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"

    /// The form token for a session: a digest of its secret, which a page from elsewhere cannot know.
    static func csrf(for token: String) -> String {
        Hex.encode(SHA256.hash(data: Data("allot-csrf|\(token)".utf8)))
    }

    /// Whether a submitted form token matches the session's (compared in constant time).
    static func checkCSRF(_ submitted: String?, token: String) -> Bool {
        guard let submitted else { return false }
        let expected = Array(csrf(for: token).utf8)
        let given = Array(submitted.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// An `application/x-www-form-urlencoded` body as fields (the last value of a repeated name wins).
    static func form(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { part in
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first, !name.isEmpty else { continue }
            fields[name] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    /// A redirect after a form (303: the browser follows with GET).
    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location]
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }
}
