import ArgumentParser
import Attestation
import AttestationNitro
import AttestationSEVSNP
import AttestationTDX
import Crypto
import Foundation
import SealgateCore
import Yams

struct AttestationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attestation", abstract: "Verify attestation evidence and produce mock evidence.",
        subcommands: [Verify.self, MockEvidence.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify evidence and appraise it; exit 0 only when both pass.",
            discussion: "Supported: snp (AMD SEV-SNP reports), tdx (Intel TDX DCAP quotes), nitro (AWS Nitro Enclaves documents) and mock. Vendor roots are pinned in the build; --root/--ark replace the pins.")
        @Option(name: .customLong("type"), help: "Evidence type: snp, tdx, nitro or mock.") var type: String
        @Argument(help: "The evidence file (the 1184-byte report for snp, raw CBOR for nitro, the compact JWS for mock).") var evidence: String
        @Option(help: "nitro/tdx: a root certificate (PEM) to trust instead of the built-in pin.") var root: String?
        @Option(name: .customLong("mock-signer"), help: "Mock: the trusted development signing public key (PEM).") var mockSigner: String?
        @Option(help: "SNP: the VCEK or VLEK certificate (PEM or DER).") var vcek: String?
        @Option(name: .customLong("cert-chain"), help: "SNP: AMD cert_chain, ASK (or ASVK) then ARK (PEM).") var certChain: String?
        @Option(help: "SNP: the pinned ARK (PEM).") var ark: String?
        @Option(name: .customLong("reference-values"), help: "Reference values (YAML or JSON); without them only the signature and chain are checked.")
        var referenceValues: String?
        @Option(help: "Verification time (RFC 3339); default now.") var at: String?
        @Option(name: .customLong("report-data"), help: "Expected REPORT_DATA / user data, hex.") var reportData: String?
        @Flag(help: "Print the attestation result as JSON.") var json = false

        func run() async throws {
            guard let bytes = FileManager.default.contents(atPath: evidence) else { throw ValidationError("cannot read \(evidence)") }
            let now: Date
            if let at {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                guard let date = formatter.date(from: at) ?? ISO8601DateFormatter().date(from: at) else {
                    throw ValidationError("--at is not an RFC 3339 time")
                }
                now = date
            } else {
                now = Date()
            }
            let verifier: any AttestationVerifier
            let tee: TEEType
            var evidenceBytes = bytes
            switch type {
            case "snp":
                guard let vcek, let certChain, let vcekData = FileManager.default.contents(atPath: vcek),
                    let chain = try? String(contentsOfFile: certChain, encoding: .utf8)
                else { throw ValidationError("snp needs --vcek and --cert-chain (and optionally --ark; default: AMD's pinned ARKs)") }
                let vcekPEM: String
                if let text = String(data: vcekData, encoding: .utf8), text.contains("BEGIN CERTIFICATE") {
                    vcekPEM = text
                } else {
                    vcekPEM = "-----BEGIN CERTIFICATE-----\n\(vcekData.base64EncodedString(options: .lineLength64Characters))\n-----END CERTIFICATE-----\n"
                }
                evidenceBytes = try JSONEncoder().encode(SNPEvidenceBundle(report: bytes, vcekPEM: vcekPEM, certChainPEM: chain))
                if let ark {
                    guard let arkPEM = try? String(contentsOfFile: ark, encoding: .utf8) else { throw ValidationError("cannot read \(ark)") }
                    verifier = try SNPAttestationVerifier(arkPEMs: [arkPEM])
                } else {
                    verifier = SNPAttestationVerifier()
                }
                tee = .snp
            case "tdx":
                if let root {
                    guard let pem = try? String(contentsOfFile: root, encoding: .utf8) else { throw ValidationError("cannot read \(root)") }
                    verifier = try TDXAttestationVerifier(rootPEM: pem)
                } else {
                    verifier = TDXAttestationVerifier()
                }
                tee = .tdx
            case "nitro":
                if let root {
                    guard let pem = try? String(contentsOfFile: root, encoding: .utf8) else { throw ValidationError("cannot read \(root)") }
                    verifier = try NitroAttestationVerifier(rootPEM: pem)
                } else {
                    verifier = NitroAttestationVerifier()
                }
                tee = .nitro
            case "mock":
                guard let mockSigner, let pem = try? String(contentsOfFile: mockSigner, encoding: .utf8),
                    let key = try? P256.Signing.PublicKey(pemRepresentation: pem)
                else { throw ValidationError("mock needs --mock-signer with the development public key PEM") }
                verifier = MockEvidenceVerifier(trustedSigners: [key])
                tee = .mock
            default:
                throw ValidationError("unsupported --type \(type) (this build verifies snp, tdx, nitro and mock)")
            }
            let evidenceValue = Evidence(tee: tee, bytes: evidenceBytes)
            var rejected: [AttestationFailure] = []
            if case .rejected(let failures) = verifier.verify(evidenceValue, now: now) { rejected = failures }
            var result: AttestationResult?
            if let path = referenceValues {
                guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
                let values = path.hasSuffix(".json")
                    ? try JSONDecoder().decode(ReferenceValues.self, from: data)
                    : try YAMLDecoder().decode(ReferenceValues.self, from: String(decoding: data, as: UTF8.self))
                let expectation: ReportDataExpectation = try reportData.map {
                    guard let d = Hex.decode($0) else { throw ValidationError("--report-data is not hex") }
                    return .equals(d)
                } ?? .insecureSkipBindingCheck
                if reportData == nil { print("note: REPORT_DATA binding not checked (no --report-data)") }
                result = Appraiser(referenceValues: values, verifiers: [verifier]).appraise(evidenceValue, reportData: expectation, now: now)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                if let result { print(String(decoding: try encoder.encode(result), as: UTF8.self)) }
            }
            if !rejected.isEmpty {
                for failure in rejected { print("REJECTED \(failure.reason): \(failure.detail)") }
                throw ExitCode(1)
            }
            print("evidence verified (\(type))")
            if let result {
                print("appraisal: \(result.status.rawValue)\(result.referenceValueSet.map { " (reference values \($0))" } ?? "")")
                for failure in result.failures { print("FAILED \(failure.reason): \(failure.detail)") }
                if result.status == .contraindicated { throw ExitCode(1) }
            }
        }
    }

    struct MockEvidence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mock-evidence",
            abstract: "Print mock evidence signed with the development key, so other tools can play a mock TEE.")
        @Option(name: .customLong("report-data"), help: "64 bytes of REPORT_DATA, hex.") var reportData: String
        @Option(help: "Measurement components: executable digest (hex SHA-384).") var executableDigest = String(repeating: "00", count: 48)
        @Option(name: .customLong("policy-digest"), help: "Policy bundle digest (hex SHA-256).") var policyDigest = String(repeating: "00", count: 32)
        @Option(help: "Security version number.") var svn = 1
        @Flag(help: "Claim a debug TEE.") var debug = false
        @Option(name: .customLong("data-dir"), help: "Where the development key lives (<data-dir>/mock-tee/signing-key.pem).")
        var dataDir = ".sealgate"

        func run() async throws {
            guard let data = Hex.decode(reportData), data.count == 64 else { throw ValidationError("--report-data must be 64 bytes of hex") }
            let path = dataDir + "/mock-tee/signing-key.pem"
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8), let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else {
                throw ValidationError("no development key at \(path): run `sealgate serve` once to create it")
            }
            let tee = MockTEE(
                signingKey: key, measurement: MockMeasurement(executableDigest: executableDigest, policyDigest: policyDigest),
                debug: debug, svn: svn)
            let evidence = try tee.evidence(reportData: data, initDataDigest: nil, now: Date())
            print(String(decoding: evidence.bytes, as: UTF8.self))
        }
    }
}
