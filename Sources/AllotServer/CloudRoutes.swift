import AllotAPI
import AllotCloud
import Hummingbird

/// The catalog that ships with Allot, read once on first use.
enum BundledCatalog {
    static let shared: Result<Catalog, CatalogError> = Result { () throws(CatalogError) in try Catalog.bundled() }
    static let commitments: Result<CommitmentPrices, CatalogError> = Result { () throws(CatalogError) in try CommitmentPrices.bundled() }
}

extension APIRoutes {
    /// `GET /v1/cloud/offers`: the cheapest offers that fit, from the bundled catalog; `POST /v1/cloud/plan`: the
    /// minimum-cost placement of several tasks.
    func addCloud(to router: Router<AllotRequestContext>) {
        router.post("/v1/cloud/plan") { request, _ in
            var request = request
            let spec = try decode(CloudPlanSpec.self, try await body(&request))
            switch BundledCatalog.shared {
            case .success(let catalog):
                do throws(CatalogError) { return jsonResponse(try catalog.plan(spec)) } catch {
                    throw APIError(.unprocessableContent, .invalidField, error.message)
                }
            case .failure(let error): throw APIError(.internalServerError, .catalogUnavailable, error.message)
            }
        }
        router.get("/v1/cloud/offers") { request, _ in
            var parameters: [String: String] = [:]
            for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
            let query: OfferQuery
            do throws(CatalogError) { query = try OfferQuery(parameters: parameters) } catch {
                throw APIError(.badRequest, .invalidField, error.message)
            }
            switch BundledCatalog.shared {
            case .success(let catalog): return jsonResponse(catalog.search(query))
            case .failure(let error): throw APIError(.internalServerError, .catalogUnavailable, error.message)
            }
        }
    }
}
