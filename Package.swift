// swift-tools-version: 6.1

import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility")
]

let package = Package(
    name: "allot",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "allot", targets: ["allot"]),
        .executable(name: "allot-full", targets: ["allot-full"]),
        .library(name: "AllotCore", targets: ["AllotCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // Pure domain: resources, nodes, tasks, placement, queue policies, the scheduler state machine,
        // utilization and estimators. No I/O, no wall clock, no logging.
        .target(
            name: "AllotCore",
            dependencies: [.product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: strictSettings
        ),
        // The trace-driven simulator: trace readers, the replay loop over the core scheduler, metrics, reports.
        .target(
            name: "AllotSimulator",
            dependencies: ["AllotCore", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: strictSettings
        ),
        // Cloud prices: catalog readers (SkyPilot schema and others), the compact catalog that ships, offer search.
        .target(
            name: "AllotCloud",
            dependencies: ["AllotCore", "AllotAPI"],
            exclude: ["Resources/SOURCE.md"],
            resources: [.copy("Resources/catalog.tsv"), .copy("Resources/commitments.tsv"), .copy("Resources/egress.tsv")],
            swiftSettings: strictSettings
        ),
        // Amazon Web Services spoken directly: Signature Version 4 request signing (swift-crypto) and the EC2
        // Query API over HTTPS (AsyncHTTPClient), behind AllotCloud's provider protocol.
        .target(
            name: "AllotAWS",
            dependencies: [
                "AllotCloud",
                "AllotAPI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Object storage spoken directly (S3 over SigV4, GCS's JSON API, local directories) and `allot data sync`'s
        // engine: incremental, verified, resumable copies.
        .target(
            name: "AllotStorage",
            dependencies: [
                "AllotAWS", "AllotAPI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Wire and file formats (cluster and task files, plan reports) shared by every shell.
        .target(
            name: "AllotAPI",
            dependencies: ["AllotCore", "CZlib"],
            swiftSettings: strictSettings
        ),
        // The system's zlib (gzip bodies).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The store protocol and the in-memory reference store.
        .target(
            name: "AllotStore",
            dependencies: ["AllotAPI", "AllotCore"],
            swiftSettings: strictSettings
        ),
        // The job and node lifecycle: a pure state machine beside the scheduler (events in, actions out).
        .target(
            name: "AllotLifecycle",
            dependencies: ["AllotCore", "AllotAPI", "AllotStore"],
            swiftSettings: strictSettings
        ),
        // Test helpers shared by test targets: a store that fails writes on demand, a throwaway PostgreSQL server.
        .target(
            name: "AllotTestSupport",
            dependencies: ["AllotStore", "AllotAPI"],
            swiftSettings: strictSettings
        ),
        // TLS material: the cluster's private certificate authority, server certificates, SwiftNIO SSL configurations.
        .target(
            name: "AllotTLS",
            dependencies: [
                "AllotAPI",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // The embedded SQLite store (GRDB).
        .target(
            name: "AllotStoreSQLite",
            dependencies: ["AllotStore", "AllotAPI", "AllotCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        // The PostgreSQL store (postgres-nio) for replicated servers.
        .target(
            name: "AllotStorePostgres",
            dependencies: [
                "AllotStore", "AllotAPI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The control plane: the scheduler driven by the store, the HTTP API, authentication.
        .target(
            name: "AllotServer",
            dependencies: [
                "AllotCore", "AllotAPI", "AllotStore", "AllotCloud", "AllotLifecycle",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                "AllotTLS",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Resources/web")],
            swiftSettings: strictSettings
        ),
        // The typed HTTP client the CLI and the agent use.
        .target(
            name: "AllotClient",
            dependencies: [
                "AllotAPI",
                "AllotTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // The node agent as a library: discovery of the machine's resources and usage.
        .target(
            name: "AllotAgent",
            dependencies: [
                "AllotCore", "AllotAPI", "AllotClient", "AllotStorage",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The `allot` command tree as a library, one command per file.
        .target(
            name: "AllotCommands",
            dependencies: [
                "AllotCore",
                "AllotAPI",
                "AllotAgent",
                "AllotSimulator",
                "AllotCloud",
                "AllotAWS",
                "AllotStorage",
                "AllotClient",
                "AllotServer",
                "AllotStore",
                "AllotStoreSQLite",
                "AllotTLS",
                "AllotStorePostgres",
                "AllotCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "AllotCLI",
            dependencies: [
                "AllotAPI",
                "AllotClient",
                "AllotCore",
                "AllotTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "allot",
            dependencies: ["AllotCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings,
            // Released as one static executable: no dynamic loader, no relocations to apply at each start. CPU for
            // `allot submit --help`: 4.0 ms, against 9.3 ms with only the Swift runtime linked in statically and
            // 14.3 ms for allot-full. (Not in debug builds: the test bundle links this target's objects, and
            // cannot be static.) Foundation's own static libraries are not pulled in by -static-executable: they
            // are named here, in the order the linker needs.
            linkerSettings: [
                .unsafeFlags(["-static-executable"], .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("_FoundationCollections", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("_FoundationCShims", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("CoreFoundation", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("_FoundationICU", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("dispatch", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("BlocksRuntime", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("stdc++", .when(platforms: [.linux], configuration: .release)),
            ]
        ),
        .executableTarget(
            name: "allot-full",
            dependencies: ["AllotCommands", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotCoreTests",
            dependencies: [
                "AllotCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotLifecycleTests",
            dependencies: ["AllotLifecycle", "AllotCore", "AllotAPI", "AllotStore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotCloudTests",
            dependencies: ["AllotCloud", "AllotAPI"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotAWSTests",
            dependencies: ["AllotAWS", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotSimulatorTests",
            dependencies: ["AllotSimulator", "AllotCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotAPITests",
            dependencies: ["AllotAPI", "AllotCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotAgentTests",
            dependencies: ["AllotAgent", "AllotAPI", "AllotCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotStoreTests",
            dependencies: [
                "AllotStore", "AllotStoreSQLite", "AllotStorePostgres", "AllotTestSupport", "AllotAPI", "AllotCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotServerTests",
            dependencies: [
                "AllotServer", "AllotStore", "AllotStoreSQLite", "AllotAPI", "AllotCore", "AllotCloud", "AllotTestSupport", "AllotTLS",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "allot", "AllotClient", "AllotAPI", "AllotCore", "AllotAWS", "AllotCloud", "AllotStorage", "AllotTestSupport", "AllotTLS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AllotCommandsTests",
            dependencies: ["AllotCommands", "AllotCLI", "AllotAPI", "AllotCore", "AllotSimulator"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
