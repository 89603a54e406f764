import AllotStorePostgres
import AllotTestSupport
import Foundation

/// Databases for the PostgreSQL store's tests. The migrations run once, into a template; each test gets a copy
/// (`CREATE DATABASE … TEMPLATE`), so a test process that opens a few dozen stores at once does not run the
/// migrations a few dozen times over on a loaded machine. Tests of the migrations themselves use an empty database.
enum PostgresTestDatabase {
    /// How long a test's store may take to open: the whole test process starts at once on two cores.
    static let openTimeout: Duration = .seconds(90)

    /// A fresh, migrated database's URL.
    static func make() async throws -> PostgresURL {
        let template = try await migratedTemplate.value
        let cluster = try PostgresCluster.shared()
        let name = "t_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        try cluster.psql("CREATE DATABASE \(name) TEMPLATE \(template)")
        return try PostgresURL(parsing: cluster.url(database: name))
    }

    /// Opens a store on a fresh, migrated database.
    static func open() async throws -> PostgresStore {
        try await PostgresStore.open(make(), timeout: openTimeout)
    }

    /// The template's name, once it holds every migration and nothing is connected to it.
    private static let migratedTemplate = Task<String, any Error> {
        let cluster = try PostgresCluster.shared()
        let name = "allot_template"
        try cluster.psql("CREATE DATABASE \(name)")
        let store = try await PostgresStore.open(PostgresURL(parsing: cluster.url(database: name)), timeout: openTimeout)
        await store.close()
        return name
    }
}
