// swift-tools-version:6.1
// libFuzzer targets for Replyline's pure components, in their own package so the main build
// never compiles with sanitizers. scripts/fuzz builds and runs them all; Fuzz/README.md says
// what each one checks. The build needs the sanitizer flags on the command line (they must
// reach ReplylineCore and ReplylineProviders too, or libFuzzer sees no coverage there):
//   swift build -c debug --package-path Fuzz --scratch-path Fuzz/.build \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription

let package = Package(
    name: "replyline-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "replyline", path: ".."),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // libFuzzer's driver entry point, declared for Swift; see LibFuzzerDriver.h.
        .target(name: "LibFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["LibFuzzerDriver"]),
        .executableTarget(name: "FuzzFormBody", dependencies: ["FuzzSupport", .product(name: "ReplylineProviders", package: "replyline")]),
        .executableTarget(
            name: "FuzzSignature",
            dependencies: [
                "FuzzSupport", .product(name: "ReplylineProviders", package: "replyline"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(name: "FuzzKeywords", dependencies: ["FuzzSupport", .product(name: "ReplylineCore", package: "replyline")]),
        .executableTarget(name: "FuzzRules", dependencies: ["FuzzSupport", .product(name: "ReplylineCore", package: "replyline")]),
        .executableTarget(name: "FuzzTwiML", dependencies: ["FuzzSupport", .product(name: "ReplylineProviders", package: "replyline")]),
    ]
)
