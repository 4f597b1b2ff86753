// swift-tools-version:6.2
// libFuzzer harnesses for Sealgate's parsers. They live outside the main build graph: build and run them with
// `FuzzTests/run.sh [SECONDS_PER_TARGET]` (see docs/fuzzing.md). Every harness is an executable whose main hands
// libFuzzer's driver (`LLVMFuzzerRunDriver`) a callback, so it links only when built with
// `-Xswiftc -sanitize=fuzzer` (run.sh adds `address` too).
import PackageDescription

let harness: [Target.Dependency] = ["FuzzSupport", .product(name: "SealgateAttestation", package: "sealgate")]

let package = Package(
    name: "sealgate-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sealgate", path: ".."),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
    ],
    targets: [
        // The declaration of libFuzzer's LLVMFuzzerRunDriver (the symbol comes from -sanitize=fuzzer's runtime).
        .target(name: "CLibFuzzer"),
        // The driver glue, the typed-rejection checks, seed writing and the shared-vector loader.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        // AMD SEV-SNP: evidence bundle JSON, the 1184-byte report, AMD KDS certificates (DER and PEM).
        .executableTarget(name: "FuzzSNP", dependencies: harness),
        // Intel TDX DCAP quotes v4/v5, and the collateral checks of quotes that verify.
        .executableTarget(name: "FuzzTDX", dependencies: harness),
        // Intel PCS collateral: TCB Info and QE Identity JSON, CRLs (DER), the PCK SGX extension.
        .executableTarget(
            name: "FuzzTDXCollateral", dependencies: harness + [.product(name: "X509", package: "swift-certificates")]),
        // AWS Nitro: the bounded CBOR decoder and COSE_Sign1 attestation documents.
        .executableTarget(name: "FuzzNitro", dependencies: harness),
        // Mock TEE evidence: compact ES256 JWS, and claims re-signed with the trusted development key.
        .executableTarget(
            name: "FuzzMockEvidence", dependencies: harness + [.product(name: "Crypto", package: "swift-crypto")]),
        // JOSE: compact and flattened-JSON JWE, decryption with fixed keys, JWK validation.
        .executableTarget(
            name: "FuzzJOSE",
            dependencies: [
                "FuzzSupport", .product(name: "SealgateJOSE", package: "sealgate"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Azure vTPM: evidence JSON, HCL report, runtime data, TPM quote and signature; az-snp-vtpm and az-tdx-vtpm.
        .executableTarget(name: "FuzzAzure", dependencies: harness),
        // NVIDIA H100: SPDM measurement report, device chain PEM, evidence bundle.
        .executableTarget(name: "FuzzNVIDIA", dependencies: harness),
        // Sigstore: bundles, trusted roots, RFC 3161 responses, keys, model signatures, leaf certificates.
        .executableTarget(
            name: "FuzzSigstore", dependencies: ["FuzzSupport", .product(name: "SealgateSigstore", package: "sealgate")]),
        // Release policies: the strict loader, then evaluation of what loads.
        .executableTarget(
            name: "FuzzReleasePolicy",
            dependencies: harness + [.product(name: "SealgateReleasePolicy", package: "sealgate")]),
    ]
)
