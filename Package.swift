// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// The MiniLM kernels are compiled optimised even in debug builds (an unoptimised SIMD loop is ~100× slower) and, on
/// x86-64, for Haswell (AVX2 + FMA, x86-64-v3); the AVX-512 GEMM target for Skylake-SP (AVX-512 F/CD/BW/DQ/VL).
/// `GEMMKernel.selected` reads CPUID once and runs only what the CPU has; `MiniLMEmbedder` refuses a CPU without AVX2.
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-O", "-target-cpu", "haswell"])]
let avx512KernelFlags: [SwiftSetting] = [.unsafeFlags(["-O", "-target-cpu", "skylake-avx512"])]
#else
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-O"])]
let avx512KernelFlags: [SwiftSetting] = [.unsafeFlags(["-O"])]
#endif
/// Retrieval (the HNSW index, its int8 kernels, exact rescoring) is compiled optimised in debug builds too, for any
/// CPU: unoptimised, building the graph of 2,200 chunks took over ten minutes of CPU, so a debug-build gateway never
/// answered its first query over such a collection.
let retrievalFlags: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "sealgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sealgate", targets: ["sealgate"]),
        // For the out-of-graph benchmark package only.
        .library(name: "SealgateSealing", targets: ["Sealing"]),
        .library(name: "SealgateRetrieval", targets: ["Retrieval"]),
        .library(name: "SealgateRedaction", targets: ["Redaction"]),
        .library(name: "SealgateAudit", targets: ["Audit"]),
        .library(name: "SealgateAttestation", targets: ["Attestation", "AttestationSEVSNP", "AttestationTDX", "AttestationNitro", "AttestationAzure", "AttestationNVIDIA"]),
        .library(name: "SealgateBrokerClient", targets: ["BrokerClientHTTP", "KeyLease", "KBSProtocol", "KeyBroker", "JOSE"]),
        .library(name: "SealgateJOSE", targets: ["JOSE"]),
        .library(name: "SealgateReleasePolicy", targets: ["ReleasePolicy"]),
        .library(name: "SealgateSigstore", targets: ["Sigstore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-http-structured-headers.git", from: "1.7.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
    ],
    targets: [
        // Domain values, reason codes, errors and ports. No I/O.
        .target(name: "SealgateCore", swiftSettings: strict),
        // Envelope encryption: DEKs, KEK wrapping, AAD-bound chunk sealing.
        .target(
            name: "Sealing",
            dependencies: ["SealgateCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // Evidence, verifiers, appraisal, attestation results, the mock TEE.
        .target(
            name: "Attestation",
            dependencies: [
                "SealgateCore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // AWS Nitro Enclaves attestation documents (COSE_Sign1 ES384, chain to the AWS root).
        .target(
            name: "AttestationNitro",
            dependencies: [
                "SealgateCore", "Attestation", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // AMD SEV-SNP reports (ECDSA P-384 by the VCEK/VLEK, RSASSA-PSS chain to a pinned ARK).
        .target(
            name: "AttestationSEVSNP",
            dependencies: [
                "SealgateCore", "Attestation", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // Intel TDX DCAP quotes (quote and QE report signatures, PCK chain to the Intel SGX Root CA).
        .target(
            name: "AttestationTDX",
            dependencies: [
                "SealgateCore", "Attestation", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // Azure confidential VM vTPM evidence: HCL report (SNP report or TDX TDREPORT + runtime data) and TPM quote.
        .target(
            name: "AttestationAzure",
            dependencies: [
                "SealgateCore", "Attestation", "AttestationSEVSNP", "AttestationTDX", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        // NVIDIA H100 SPDM measurement reports (ECDSA P-384 by the device key, chain to the NVIDIA Device Identity CA).
        .target(
            name: "AttestationNVIDIA",
            dependencies: [
                "SealgateCore", "Attestation", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // JOSE: JWK and JWE (ECDH-ES+A*KW, RSA-OAEP(-256), A*KW, dir; A128GCM/A256GCM) composed from swift-crypto.
        .target(
            name: "JOSE",
            dependencies: [
                "SealgateCore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        // Offline Sigstore bundle verification (Fulcio, Rekor v1/v2, RFC 3161, DSSE) and OpenSSF model signatures.
        .target(
            name: "Sigstore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // The gateway's access policy: who may ask what, at which class, through which model, over which collections. Pure.
        .target(name: "AccessPolicy", dependencies: ["SealgateCore"], swiftSettings: strict),
        // The one bearer-credential parser, constant-time credential table and authenticating middleware of every listener.
        .target(
            name: "Authenticate",
            dependencies: [
                "SealgateCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict),
        // Release policies: allOf/anyOf/not over the attestation result and the request; decisions name the rule that decided.
        .target(name: "ReleasePolicy", dependencies: ["SealgateCore", "Attestation"], swiftSettings: strict),
        // Verifies the Sigstore bundles of image digests that reference values pin (signed_by), when values are loaded or put.
        .target(
            name: "ReferenceImages",
            dependencies: ["Attestation", "Sigstore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // The KBS RCAR protocol's vocabulary and the BrokerClient port: all the gateway side knows of a broker.
        .target(
            name: "KBSProtocol",
            dependencies: [
                "SealgateCore", "Attestation", "JOSE", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // The key broker: KEK hierarchy, release policy, the RCAR exchange, JWE release, admin operations.
        .target(
            name: "KeyBroker",
            dependencies: [
                "SealgateCore", "KBSProtocol", "Attestation", "JOSE", "ReleasePolicy", "ReferenceImages", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // Gateway side of key release: attest, hold leases, renew.
        .target(
            name: "KeyLease",
            dependencies: [
                "SealgateCore", "Attestation", "AttestationSEVSNP", "KBSProtocol", "JOSE",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        // memfd_create and file seals (Linux), for model files that must never reach persistent storage.
        .target(name: "CMemFD"),
        // Sealed model artifacts and the protected loader: OMS-verified, chunked AES-256-GCM under a broker-held model key.
        .target(
            name: "ModelLoader",
            dependencies: ["SealgateCore", "KBSProtocol", "KeyLease", "Sigstore", "Sealing", "CMemFD", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // Chunking, the built-in embedder, tenant-scoped in-memory index.
        .target(name: "Retrieval", dependencies: ["SealgateCore", "CPUID", "RetrievalKernelsAVX"], swiftSettings: strict + retrievalFlags),
        // The approximate index's distance kernels for AVX2 + FMA and AVX-512 (C: one function per instruction set through
        // target attributes, so one small target holds both and nothing else is compiled for them); Retrieval calls them
        // only when CPUID says the CPU has them (`SimilarityKernel.selected`). -O2 in debug builds too, like Retrieval.
        .target(name: "RetrievalKernelsAVX", cSettings: [.unsafeFlags(["-O2"])]),
        // Output redaction: detectors, validators, profiles, streaming.
        .target(name: "Redaction", dependencies: ["SealgateCore"], swiftSettings: strict),
        // Audit records and the durable audit sink; receipts (the Sealgate-Receipt RFC 8941 dictionary).
        .target(
            name: "Audit",
            dependencies: [
                "SealgateCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers"),
            ],
            swiftSettings: strict),
        // A C2SP tlog-witness: checks checkpoints against the latest it cosigned, persists per-log state, cosigns.
        .target(
            name: "Witness",
            dependencies: ["SealgateCore", "Audit", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // Security event stream: CloudEvents JSON lines to stdout, a file or a webhook.
        .target(
            name: "SecurityEvents",
            dependencies: [
                "SealgateCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        // CPUID and XGETBV (C): which vector extensions the CPU has and the OS enables, for the kernels' dispatch.
        .target(name: "CPUID"),
        // The AVX-512 GEMM (12 × 32 SIMD16 tile), compiled for skylake-avx512; runs only when CPUID says so. Empty off x86-64.
        .target(name: "MiniLMKernelsAVX512", dependencies: ["MiniLMPrefetch"], swiftSettings: strict + avx512KernelFlags),
        // One inline C helper: a cache-line prefetch for the AVX-512 GEMM (Swift has none).
        .target(name: "MiniLMPrefetch"),
        // The MiniLM encoder's numerics: kernel dispatch, blocked SIMD GEMM, attention, layer norm, GELU, pooling.
        .target(name: "MiniLMKernels", dependencies: ["CPUID", "MiniLMKernelsAVX512"], swiftSettings: strict + kernelFlags),
        // all-MiniLM-L6-v2 in process: safetensors (bounds-checked), WordPiece tokenizer, batching over all cores.
        .target(
            name: "MiniLM",
            dependencies: ["SealgateCore", "MiniLMKernels", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // The built-in extractive model.
        .target(name: "Models", dependencies: ["SealgateCore", "Retrieval"], swiftSettings: strict),
        // Configuration file and embedded defaults.
        .target(
            name: "SealgateConfig",
            dependencies: ["SealgateCore", "AccessPolicy", "Yams", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // Adapters: one I/O stack each.
        .target(
            name: "StorageSQLite",
            dependencies: [
                "SealgateCore", "KeyBroker",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // PostgreSQL (postgres-nio): document and broker stores shared by replicas, versioned migrations, change notifications.
        .target(
            name: "StoragePostgres",
            dependencies: [
                "SealgateCore", "KeyBroker",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // The gateway's KBS client over HTTP (deadlines, retries with backoff and jitter).
        .target(
            name: "BrokerClientHTTP",
            dependencies: [
                "SealgateCore", "Attestation", "KBSProtocol", "KeyLease", "JOSE",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .target(
            name: "ModelClientOpenAI",
            dependencies: [
                "SealgateCore", "Audit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        // The transport to attested upstream models: TLS verified against the broker's workload CA and the workload extension.
        .target(
            name: "AttestedUpstream",
            dependencies: [
                "SealgateCore", "KBSProtocol", "ModelClientOpenAI",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        // The request pipeline over ports.
        .target(
            name: "Gateway",
            dependencies: [
                "SealgateCore", "AccessPolicy", "Attestation", "Authenticate", "Sealing", "KBSProtocol", "KeyLease", "Retrieval",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // The HTTP/1.1 listener guard: header/body/idle deadlines, connection limit, problem answers for framing errors,
        // no connection left open with an unread body.
        .target(
            name: "HTTPHardening",
            dependencies: [
                "SealgateCore",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // Dashboards: the bounded ring of counter buckets, the data window, the page (HTML + inline JS/SVG, CSP hashes).
        .target(
            name: "Dashboard",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // Composition root: HTTP, adapters, services.
        .target(
            name: "SealgateServer",
            dependencies: [
                "Gateway", "AccessPolicy", "Authenticate", "StorageSQLite", "StoragePostgres", "ModelClientOpenAI", "AttestedUpstream", "BrokerClientHTTP", "KeyBroker", "ReferenceImages", "KeyLease", "Attestation", "Audit",
                "AttestationSEVSNP", "AttestationTDX", "AttestationNitro", "AttestationAzure", "ReleasePolicy", "JOSE",
                "Models", "Redaction", "Retrieval", "SealgateConfig", "SecurityEvents", "Yams", "HTTPHardening", "Witness", "Dashboard", "MiniLM", "ModelLoader", "Sigstore", "KBSProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "sealgate",
            dependencies: [
                "SealgateServer", "SealgateConfig", "Audit", "SealgateCore", "Redaction", "Attestation", "AttestationNitro", "AttestationSEVSNP", "AttestationTDX",
                "AttestationAzure", "AttestationNVIDIA", "Yams",
                "ReleasePolicy", "KeyBroker", "JOSE", "HTTPHardening", "AttestedUpstream", "ModelClientOpenAI", "Sigstore", "MiniLM", "MiniLMKernels",
                "ModelLoader", "KBSProtocol",
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        // Helpers shared by the test targets (a seeded generator, a keyed image signer); not part of any product.
        .target(
            name: "SealgateTestSupport", dependencies: ["SealgateCore", .product(name: "Crypto", package: "swift-crypto")], path: "Tests/Support",
            swiftSettings: strict),
        .testTarget(
            name: "SealgateUnitTests",
            dependencies: [
                "SealgateTestSupport", "Sealing", "Attestation", "KeyBroker", "KeyLease", "Retrieval", "Redaction", "Audit", "Models", "SealgateConfig", "AccessPolicy",
                "SealgateCore", "AttestationNitro", "AttestationSEVSNP", "AttestationTDX", "AttestationAzure", "AttestationNVIDIA", "StorageSQLite", "JOSE", "ReleasePolicy", "ReferenceImages", "KBSProtocol",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Vectors", "Golden"],
            swiftSettings: strict),
        .testTarget(
            name: "MiniLMTests",
            dependencies: ["MiniLM", "MiniLMKernels", "SealgateTestSupport", "SealgateCore"],
            resources: [.copy("Vectors")],
            swiftSettings: strict),
        .testTarget(
            name: "JOSETests",
            dependencies: [
                "JOSE", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            resources: [.copy("Vectors")],
            swiftSettings: strict),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "AccessPolicy", "SealgateTestSupport", "SealgateCore", "KeyBroker", "KeyLease", "Attestation",
                "ReleasePolicy", "Retrieval", "Sealing", "StorageSQLite", "KBSProtocol", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "SigstoreTests",
            dependencies: [
                "Sigstore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "ModelLoaderTests",
            dependencies: [
                "ModelLoader", "KeyBroker", "KeyLease", "KBSProtocol", "Attestation", "ReleasePolicy", "StorageSQLite", "Sigstore", "SealgateCore",
                "SealgateTestSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(name: "AccessPolicyTests", dependencies: ["AccessPolicy", "SealgateCore", "SealgateTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AuthenticateTests",
            dependencies: [
                "Authenticate", .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict),
        .testTarget(name: "ReleasePolicyTests", dependencies: ["ReleasePolicy", "Attestation", "SealgateCore"], swiftSettings: strict),
        .testTarget(name: "RedactionTests", dependencies: ["Redaction", "SealgateCore", "SealgateTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "SealgateServerTests",
            dependencies: [
                "SealgateServer", "StorageSQLite", "Gateway", "Attestation", "SealgateCore", "Audit", "SecurityEvents", "KeyBroker", "JOSE",
                "SealgateTestSupport",
                "HTTPHardening", "AttestedUpstream", "ModelClientOpenAI", "Dashboard", "Retrieval", "SealgateConfig",
                .product(name: "HummingbirdTLS", package: "hummingbird"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict),
        // Every store test against SQLite and (with SEALGATE_TEST_POSTGRES_URL) PostgreSQL.
        .testTarget(
            name: "StorageConformanceTests",
            dependencies: [
                "StorageSQLite", "StoragePostgres", "SealgateCore", "SealgateTestSupport", "KeyBroker", "Attestation", "KBSProtocol", "JOSE",
                "ReleasePolicy",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "WitnessTests",
            dependencies: [
                "Witness", "Audit", "SealgateServer", "SealgateConfig", "SealgateCore", "SecurityEvents",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Vectors")],
            swiftSettings: strict),
    ]
)
