// swift-tools-version:6.2
// Benchmarks live outside the main build graph; build them in release: `swift build -c release --package-path Benchmarks`.
import PackageDescription

let package = Package(
    name: "sealgate-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sealgate", path: ".."),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
    ],
    targets: [
        .executableTarget(
            name: "AttestBench",
            dependencies: [.product(name: "SealgateAttestation", package: "sealgate"), .product(name: "Crypto", package: "swift-crypto")]),
        // The approximate index against exact search and hnswlib (ann.sh): recall, QPS, latency, memory, snapshots.
        .executableTarget(
            name: "ANNBench",
            dependencies: [
                .product(name: "SealgateRetrieval", package: "sealgate"), .product(name: "SealgateSealing", package: "sealgate"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .executableTarget(name: "AuditBench", dependencies: [.product(name: "SealgateAudit", package: "sealgate")]),
        // Memory of a long-running log (VmRSS per 100k appends) and start-up time against log length.
        .executableTarget(name: "AuditSoak", dependencies: [.product(name: "SealgateAudit", package: "sealgate")]),
        .executableTarget(
            name: "KBSBench",
            dependencies: [
                .product(name: "SealgateBrokerClient", package: "sealgate"),
                .product(name: "SealgateAttestation", package: "sealgate"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        // Sigstore bundle verifications per second and model-directory hashing (sigstore.sh).
        .executableTarget(
            name: "SigstoreBench",
            dependencies: [.product(name: "SealgateSigstore", package: "sealgate"), .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(
            name: "HashRecallBench",
            dependencies: [.product(name: "SealgateRetrieval", package: "sealgate")]),
        .executableTarget(name: "RedactBench", dependencies: [.product(name: "SealgateRedaction", package: "sealgate")]),
        .executableTarget(
            name: "SealBench",
            dependencies: [
                .product(name: "SealgateSealing", package: "sealgate"),
                .product(name: "Crypto", package: "swift-crypto"),
            ])
    ]
)
