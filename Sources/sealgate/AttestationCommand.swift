import ArgumentParser
import Attestation
import AttestationNitro
import AttestationSEVSNP
import AttestationTDX
import Crypto
import Foundation
import SealgateCore

struct AttestationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attestation", abstract: "Verify attestation evidence and produce mock evidence.",
        subcommands: [Verify.self, MockEvidence.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify evidence and appraise it; exit 0 only when both pass.",
            discussion: """
                Supported: snp (AMD SEV-SNP reports), tdx (Intel TDX DCAP quotes), nitro (AWS Nitro Enclaves documents) \
                and mock. Vendor roots are pinned in the build; --ark (snp) and --root (tdx, nitro) replace the pins. \
                Certificates given with --certs never add trust: they are ordered by issuer and checked up to a pinned \
                root. Rejections print 'REJECTED <reason>' or 'FAILED <reason>' on stderr and exit 1.
                """)
        @Option(name: .customLong("type"), help: "Evidence type: snp, tdx, nitro or mock.") var type: String
        @Argument(help: "The evidence file (the 1184-byte report for snp, the raw quote for tdx, raw CBOR for nitro, the compact JWS for mock).")
        var evidence: String
        @Option(
            name: .customLong("certs"), parsing: .upToNextOption,
            help: "Certificate files (PEM or DER, any order). snp: VCEK or VLEK, ASK or ASVK, ARK. tdx: the PCK chain, used when the quote carries none.")
        var certs: [String] = []
        @Option(help: "tdx: a directory of Intel PCS collateral (tcb_info.json, qe_identity.json, tcb_signing_chain.pem, pck_crl.der, root_ca_crl.der).")
        var collateral: String?
        @Option(name: .customLong("reference-values"), help: "Reference values (YAML or JSON); without them only the verifier and the REPORT_DATA binding run.")
        var referenceValues: String?
        // Unconditional: a base64url nonce begins with "-" one time in 64 and must not read as an option.
        @Option(parsing: .unconditional, help: "The nonce exactly as the broker issued it (base64url text), bound with --tee-pubkey as the broker does.")
        var nonce: String?
        @Option(name: .customLong("tee-pubkey"), help: "A file with the TEE's public key as a JWK (JSON), bound with --nonce.") var teePubkey: String?
        @Option(name: .customLong("report-data"), help: "Expected REPORT_DATA / user data, raw hex (instead of --nonce/--tee-pubkey).") var reportData: String?
        @Option(help: "Verification time (RFC 3339); default now.") var at: String?
        @Flag(help: "Print one JSON document {type, claims, result, report_data_check, failures, passed}.") var json = false
        @Option(help: "tdx/nitro: a root certificate (PEM) to trust instead of the built-in pin.") var root: String?
        @Option(name: .customLong("mock-signer"), help: "mock: the trusted development signing public key (PEM); default: mock_signers of the reference values.")
        var mockSigner: String?
        @Option(help: "snp: the VCEK or VLEK certificate (same as adding it to --certs).") var vcek: String?
        @Option(name: .customLong("cert-chain"), help: "snp: AMD cert_chain, ASK (or ASVK) and ARK (same as adding it to --certs).") var certChain: String?
        @Option(help: "snp: the ARK (PEM) to trust instead of AMD's pinned ARKs; it also completes the chain.") var ark: String?

        func run() async throws {
            guard let bytes = FileManager.default.contents(atPath: evidence) else { throw ValidationError("cannot read \(evidence)") }
            let now: Date
            if let at {
                guard let date = VectorsCommand.Run.date(at) else { throw ValidationError("--at is not an RFC 3339 time") }
                now = date
            } else {
                now = Date()
            }
            let values = try referenceValues.map(AppraisalInputs.referenceValues)
            let expected = try AppraisalInputs.expectedReportData(reportData: reportData, nonce: nonce, teePubkey: teePubkey)
            let (verifier, evidenceValue) = try makeVerifier(bytes, values: values)

            var claims: VerifiedClaims?
            var failures: [AttestationFailure] = []
            var rejectedByVerifier = false
            switch verifier.verify(evidenceValue, now: now) {
            case .verified(let verified): claims = verified
            case .rejected(let rejected):
                failures = rejected
                rejectedByVerifier = true
            }
            var result: AttestationResult?
            if let values {
                let appraisal = Appraiser(referenceValues: values, verifiers: [verifier])
                    .appraise(evidenceValue, reportData: expected.map { .equals($0) } ?? .insecureSkipBindingCheck, now: now)
                result = appraisal
                failures = appraisal.failures
            } else if let claims, let expected, claims.reportData != expected {
                failures.append(AttestationFailure(.reportDataMismatch, "REPORT_DATA does not bind the expected runtime data"))
            }
            if expected == nil {
                note("REPORT_DATA binding not checked (no --report-data or --nonce/--tee-pubkey): the evidence could be a replay")
            }
            let passed = !rejectedByVerifier && failures.isEmpty && result?.status != .contraindicated

            if json {
                let document = VerifyReport(
                    type: type, claims: claims, result: result, reportDataCheck: expected == nil ? "skipped" : "equals",
                    failures: failures, passed: passed)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(document), as: UTF8.self))
            }
            if rejectedByVerifier {
                for failure in failures { note("REJECTED \(failure.reason): \(failure.detail)", prefix: false) }
                throw ExitCode(1)
            }
            if !json {
                print("evidence verified (\(type))")
                if let claims { printClaims(claims) }
                if let result {
                    print("appraisal: \(result.status.rawValue)\(result.referenceValueSet.map { " (reference values \($0))" } ?? "")")
                }
            }
            for failure in failures { note("FAILED \(failure.reason): \(failure.detail)", prefix: false) }
            if !passed { throw ExitCode(1) }
        }

        /// The verifier for `--type` and the evidence as it takes it (for snp, the bundle built from `--certs`).
        func makeVerifier(_ bytes: Data, values: ReferenceValues?) throws -> (any AttestationVerifier, Evidence) {
            if collateral != nil && type != "tdx" {
                throw ValidationError("--collateral is for tdx only (AMD CRLs are not checked yet; nitro and mock need none)")
            }
            switch type {
            case "snp":
                let files = certs + [vcek, certChain, ark].compactMap { $0 }
                guard !files.isEmpty else { throw ValidationError("snp needs --certs with the VCEK (or VLEK), ASK (or ASVK) and ARK") }
                let bundle = try CertificateFiles.snpBundle(report: bytes, certificates: try CertificateFiles.load(files))
                if let ark {
                    guard let arkPEM = try? String(contentsOfFile: ark, encoding: .utf8) else { throw ValidationError("cannot read \(ark)") }
                    return (try SNPAttestationVerifier(arkPEMs: [arkPEM]), Evidence(tee: .snp, bytes: bundle))
                }
                return (SNPAttestationVerifier(), Evidence(tee: .snp, bytes: bundle))
            case "tdx":
                var verifier = try root.map { try TDXAttestationVerifier(rootPEM: try readText($0)) } ?? TDXAttestationVerifier()
                if !certs.isEmpty {
                    verifier.pckChainPEM = CertificateFiles.pem(try CertificateFiles.chain(try CertificateFiles.load(certs)))
                    note("--certs: the PCK chain is used only if the quote carries none")
                }
                if let collateral {
                    let loaded = try CollateralFiles.tdx(directory: collateral)
                    if !loaded.hasCRLs { note("the collateral lacks pck_crl or root_ca_crl: revocation is not fully checked") }
                    verifier.collateral = loaded
                } else {
                    note("no --collateral: the TDX TCB and QE status are not evaluated (appraisal: tcb_status_unknown)")
                }
                return (verifier, Evidence(tee: .tdx, bytes: bytes))
            case "nitro":
                guard certs.isEmpty else {
                    throw ValidationError("nitro documents carry their own certificates; --certs adds no trust (use --root to replace the pinned root)")
                }
                let verifier = try root.map { try NitroAttestationVerifier(rootPEM: try readText($0)) } ?? NitroAttestationVerifier()
                return (verifier, Evidence(tee: .nitro, bytes: bytes))
            case "mock":
                guard certs.isEmpty else { throw ValidationError("mock evidence takes no certificates: give the signer with --mock-signer") }
                var signers = try values?.parsedMockSigners() ?? []
                if let mockSigner {
                    guard let key = try? P256.Signing.PublicKey(pemRepresentation: try readText(mockSigner)) else {
                        throw ValidationError("--mock-signer is not a P-256 public key PEM")
                    }
                    signers = [key]
                }
                guard !signers.isEmpty else {
                    throw ValidationError("mock needs --mock-signer with the development public key PEM, or mock_signers in the reference values")
                }
                return (MockEvidenceVerifier(trustedSigners: signers), Evidence(tee: .mock, bytes: bytes))
            default:
                throw ValidationError("unsupported --type \(type) (this build verifies snp, tdx, nitro and mock)")
            }
        }

        func readText(_ path: String) throws -> String {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
            return text
        }

        func printClaims(_ claims: VerifiedClaims) {
            print("  measurement: \(claims.measurement)")
            print("  report_data: \(Hex.encode(claims.reportData))")
            if let initData = claims.initDataDigest { print("  init_data_digest: \(Hex.encode(initData))") }
            print("  debug: \(claims.debug)")
            print("  svn: \(claims.svn)")
            print("  signer_id: \(claims.signerID)")
            if let status = claims.tcbStatus { print("  tcb_status: \(status)") }
            if let status = claims.qeStatus { print("  qe_status: \(status)") }
        }
    }

    struct MockEvidence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mock-evidence",
            abstract: "Print mock evidence signed with the development key, so other tools can play a mock TEE.")
        @Option(name: .customLong("report-data"), help: "64 bytes of REPORT_DATA, hex.") var reportData: String
        @Option(help: "The measurement claim itself: 48 bytes of hex (instead of --executable-digest/--policy-digest).") var measurement: String?
        @Option(help: "Measurement component: executable digest (hex SHA-384); default all zero.") var executableDigest: String?
        @Option(name: .customLong("policy-digest"), help: "Measurement component: policy bundle digest (hex SHA-256); default all zero.")
        var policyDigest: String?
        @Option(help: "Security version number.") var svn = 1
        @Flag(help: "Claim a debug TEE.") var debug = false
        @Option(name: .customLong("data-dir"), help: "Where the development key lives (<data-dir>/mock-tee/signing-key.pem).")
        var dataDir = ".sealgate"

        func run() async throws {
            guard let data = Hex.decode(reportData), data.count == 64 else { throw ValidationError("--report-data must be 64 bytes of hex") }
            let composed: MockMeasurement
            if let measurement {
                guard executableDigest == nil, policyDigest == nil else {
                    throw ValidationError("--measurement sets the measurement directly: drop --executable-digest and --policy-digest")
                }
                guard let direct = MockMeasurement(measurement: measurement) else { throw ValidationError("--measurement must be 48 bytes of hex") }
                composed = direct
            } else {
                composed = MockMeasurement(
                    executableDigest: executableDigest ?? String(repeating: "00", count: 48), policyDigest: policyDigest ?? String(repeating: "00", count: 32))
            }
            let path = dataDir + "/mock-tee/signing-key.pem"
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8), let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else {
                throw ValidationError("no development key at \(path): run `sealgate serve` once to create it")
            }
            let tee = MockTEE(signingKey: key, measurement: composed, debug: debug, svn: svn)
            let evidence = try tee.evidence(reportData: data, initDataDigest: nil, now: Date())
            print(String(decoding: evidence.bytes, as: UTF8.self))
        }
    }
}

/// The `--json` document of `sealgate attestation verify`: the same shape for every evidence type.
struct VerifyReport: Encodable {
    /// The `--type` given.
    var type: String
    /// The verified claims; `null` when the verifier rejected the evidence.
    var claims: VerifiedClaims?
    /// The appraisal (EAR-shaped); `null` without `--reference-values`.
    var result: AttestationResult?
    /// `equals` when REPORT_DATA was compared with the expected value, `skipped` otherwise.
    var reportDataCheck: String
    /// Every failed check: the verifier's rejection, or the appraisal's failures (or, without reference values,
    /// the REPORT_DATA binding).
    var failures: [AttestationFailure]
    /// Whether the command exits 0.
    var passed: Bool

    enum CodingKeys: String, CodingKey {
        case type, claims, result, failures, passed
        case reportDataCheck = "report_data_check"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(claims, forKey: .claims)
        try c.encode(result, forKey: .result)
        try c.encode(reportDataCheck, forKey: .reportDataCheck)
        try c.encode(failures, forKey: .failures)
        try c.encode(passed, forKey: .passed)
    }
}

/// Writes a line to stderr (`note: ` first unless `prefix` is false).
func note(_ text: String, prefix: Bool = true) {
    FileHandle.standardError.write(Data(((prefix ? "note: " : "") + text + "\n").utf8))
}
