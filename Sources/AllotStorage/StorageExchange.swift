import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One answered request to a store: its status, headers and whole body.
struct StorageResponse {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer
}

extension HTTPClient {
    /// Sends a store's request and reads its body whole (at most a part plus headroom); a request that gets no
    /// answer is a retryable `RequestFailed` named by `what`.
    func exchange(_ request: HTTPClientRequest, partSize: Int64, what: String) async throws(StorageError) -> StorageResponse {
        do {
            let response = try await execute(request, timeout: .seconds(300))
            let body = try await response.body.collect(upTo: Int(max(partSize, 64 << 20)) + (1 << 20))
            return StorageResponse(status: Int(response.status.code), headers: response.headers, body: body)
        } catch {
            throw StorageError(code: "RequestFailed", message: "\(what): \(error)", retryable: true)
        }
    }
}

extension HTTPClient {
    /// Sends a GET and hands back its body as it arrives, for a reader that holds the sender back by its own
    /// pace; a status other than 200 reads the (small) body and throws what `refused` makes of it.
    func streaming(
        _ request: HTTPClientRequest,
        what: String,
        refused: (Int, ByteBuffer) throws(StorageError) -> Never
    ) async throws(StorageError) -> HTTPClientResponse.Body {
        let response: HTTPClientResponse
        do {
            response = try await execute(request, timeout: .seconds(3_600))
        } catch {
            throw StorageError(code: "RequestFailed", message: "\(what): \(error)", retryable: true)
        }
        guard response.status.code == 200 else {
            let body: ByteBuffer
            do { body = try await response.body.collect(upTo: 1 << 20) } catch {
                throw StorageError(code: "RequestFailed", message: "\(what): \(error)", retryable: true)
            }
            try refused(Int(response.status.code), body)
        }
        return response.body
    }
}
