// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "replyline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "replyline", targets: ["replyline"]),
        .library(name: "ReplylineCore", targets: ["ReplylineCore"]),
        .library(name: "ReplylineProviders", targets: ["ReplylineProviders"]),
        .library(name: "ReplylineProvidersHTTP", targets: ["ReplylineProvidersHTTP"]),
        .library(name: "ReplylineStore", targets: ["ReplylineStore"]),
        .library(name: "ReplylineSQLite", targets: ["ReplylineSQLite"]),
        .library(name: "ReplylinePostgres", targets: ["ReplylinePostgres"]),
        .library(name: "ReplylineServer", targets: ["ReplylineServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "ReplylineCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "ReplylineProviders",
            dependencies: [
                "ReplylineCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The providers' REST clients, apart from the pure adapters above so that fuzzers
        // and benchmarks of parsing, signatures and TwiML build without an HTTP stack.
        .target(
            name: "ReplylineProvidersHTTP",
            dependencies: [
                "ReplylineProviders",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The store's contract and plain values; ReplylineSQLite implements it with GRDB.
        .target(name: "ReplylineStore", dependencies: ["ReplylineCore"]),
        .target(
            name: "ReplylineSQLite",
            dependencies: [
                "ReplylineCore",
                "ReplylineStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The same contract on PostgreSQL, for several instances on one database.
        .target(
            name: "ReplylinePostgres",
            dependencies: [
                "ReplylineCore",
                "ReplylineStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // For the pool's own error type (a connection that cannot be made).
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ReplylineServer",
            dependencies: [
                "ReplylineCore",
                "ReplylineProviders",
                "ReplylineProvidersHTTP",
                "ReplylineStore",
                "ReplylineSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                // The web inbox: staff passwords and its pages' templates.
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [.copy("Resources/openapi.json"), .copy("Resources/web")]
        ),
        .executableTarget(
            name: "replyline",
            dependencies: [
                "ReplylineServer",
                "ReplylineSQLite",
                "ReplylinePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ReplylineCoreTests", dependencies: ["ReplylineCore"]),
        .testTarget(
            name: "ReplylineProvidersTests",
            dependencies: ["ReplylineProviders", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "ReplylineProvidersHTTPTests", dependencies: ["ReplylineProvidersHTTP"]),
        .testTarget(name: "ReplylineSQLiteTests", dependencies: ["ReplylineSQLite", "ReplylineStore"]),
        .testTarget(
            name: "ReplylineStoreTests",
            dependencies: [
                "ReplylineStore", "ReplylineSQLite", "ReplylinePostgres", .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "ReplylineServerTests",
            dependencies: [
                "ReplylineServer",
                "ReplylineSQLite",
                "ReplylinePostgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
    ]
)
