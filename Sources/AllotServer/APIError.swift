import AllotAPI
import AllotCore
import AllotStore
import HTTPTypes

/// A failed API call: an HTTP status and a stable code, written as `{"error":{"code","message"}}` at the edge.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: ErrorCode
    public var message: String
    /// Seconds after which trying again makes sense (`Retry-After`); a `503` without one says 1.
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(code.rawValue): \(message)" }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, .notFound, "\(what) not found") }
    static func invalid(_ error: InputError) -> APIError { APIError(.unprocessableContent, .invalidField, error.description) }
    static func conflict(_ message: String) -> APIError { APIError(.conflict, .conflict, message) }

    static func from(_ error: SchedulerError) -> APIError {
        switch error.code {
        case .infeasible: APIError(.unprocessableContent, .infeasible, error.message)
        case .invalidTask: APIError(.unprocessableContent, .invalidField, error.message)
        case .unknownNode, .unknownTask: APIError(.notFound, .notFound, error.message)
        case .duplicateNode, .duplicateTask, .invalidState: APIError(.conflict, .conflict, error.message)
        }
    }

    /// The store failed: the change was not made and may be tried again (`503`, with `Retry-After`).
    static func from(_ error: StoreError) -> APIError { storeUnavailable(error.message) }

    static func storeUnavailable(_ reason: String) -> APIError {
        APIError(.serviceUnavailable, .storeUnavailable, "the store is unavailable (\(reason)); nothing was changed, try again")
    }
}
