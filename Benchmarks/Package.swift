// swift-tools-version:6.1
// Benchmarks for Replyline's pure core, kept in their own package so the main build and
// test never compile the benchmark framework. Run from this folder:
//   swift package --disable-sandbox benchmark
// or, as CI does, a smoke pass with tiny iteration counts:
//   BENCHMARK_SMOKE=1 swift package --disable-sandbox benchmark --no-progress
import PackageDescription

let package = Package(
    name: "replyline-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "replyline", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ReplylineCore", package: "replyline"),
                .product(name: "ReplylineProviders", package: "replyline"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
