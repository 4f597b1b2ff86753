import ArgumentParser
import AttestedUpstream
import Attestation
import Crypto
import Foundation
import KeyBroker
import ModelClientOpenAI
import NIOCore
import SealgateCore
import SealgateServer
import SwiftASN1
import X509

/// `sealgate verify-gateway URL --reference-values FILE`: checks, from the client's side, what answers at URL.
struct VerifyGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-gateway",
        abstract: "Check a gateway's attestation over the very TLS connection a client would use, against reference values.",
        discussion: """
            Connects to URL over TLS, asks GET /v1/attestation with a fresh nonce on that connection, and checks that the \
            evidence verifies (SNP, TDX, Nitro, Azure vTPM or mock, with the broker's verifiers), that its REPORT_DATA binds \
            the nonce and the SHA-256 of this connection's TLS key, and that it appraises against the reference values. \
            Exit 0 only when all hold; 1 with each failure named otherwise.
            """)

    @Argument(help: "The gateway, https://HOST:PORT.") var url: String
    @Option(name: .customLong("reference-values"), help: "Reference values (JSON or YAML) the evidence must appraise against.")
    var referenceValues: String
    // Unconditional: a base64url nonce begins with "-" one time in 64 and must not read as an option.
    @Option(parsing: .unconditional, help: "The nonce: auto (32 random bytes) or base64url of 32 bytes.") var nonce = "auto"
    @Option(name: .customLong("ca"), help: "CA certificates (PEM) the TLS chain must lead to, e.g. the broker's workload CA (ca.pem).")
    var ca: String?
    @Option(name: .customLong("tdx-collateral"), help: "Intel PCS collateral directory for TDX evidence.") var tdxCollateral: String?
    @Option(help: "Seconds to wait for the gateway.") var timeout: Int64 = 10
    @Flag(help: "Print the result as JSON.") var json = false

    struct Report: Encodable {
        var url: String
        var verified: Bool
        var failures: [String]
        var tee: String?
        var measurement: String?
        var status: String?
        var tcbStatus: String?
        var policyDigest: String?
        var referenceValueSet: String?
        var tlsPublicKeySHA256: String?
        var certificateNotAfter: String?
        var workload: String?
        enum CodingKeys: String, CodingKey {
            case url, verified, failures, tee, measurement, status, workload
            case tcbStatus = "tcb_status"
            case policyDigest = "policy_digest"
            case referenceValueSet = "reference_value_set"
            case tlsPublicKeySHA256 = "tls_pubkey_sha256"
            case certificateNotAfter = "certificate_not_after"
        }
    }

    func validate() throws {
        guard let parsed = URL(string: url), parsed.scheme == "https", parsed.host != nil else {
            throw ValidationError("URL must be https://HOST:PORT: the evidence binds the TLS key of the connection")
        }
        guard nonce == "auto" || ClientAttestationBinding.isValidNonce(nonce) else {
            throw ValidationError("--nonce must be auto or the canonical base64url of 32 bytes")
        }
    }

    func run() async throws {
        guard let parsed = URL(string: url), let host = parsed.host else { throw ValidationError("URL must be https://HOST:PORT") }
        let values: ReferenceValues
        do { values = try SealgateBroker.loadReferenceValues(path: referenceValues) } catch {
            throw RuntimeFailure("cannot use the reference values \(referenceValues): \(error)")
        }
        let clientNonce = nonce == "auto" ? Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }) : nonce
        guard ClientAttestationBinding.isValidNonce(clientNonce) else { throw ValidationError("--nonce must be auto or base64url of 32 bytes") }
        let roots = try ca.map { path -> [Certificate] in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), let parsed = try? ChainCheck.certificates(pem: text), !parsed.isEmpty
            else { throw RuntimeFailure("cannot read CA certificates from \(path) (PEM expected)") }
            return parsed
        }
        var report = Report(url: url, verified: false, failures: [])
        let answer: OneShotHTTPS.Answer
        let body: Data
        do {
            answer = try await OneShotHTTPS.send(
                host: host, port: parsed.port ?? 443, method: .GET, target: "/v1/attestation?nonce=\(clientNonce)", headers: [("Accept", "application/json")],
                body: Data(), timeout: .seconds(max(1, timeout)), refusal: UpstreamRefused(.attestationFailed, "certificate_untrusted"),
                verify: { chain in await Self.chainTrusted(chain, roots: roots, host: host) })
            body = try await answer.response.collect(upTo: 4 << 20)
        } catch let refused as UpstreamRefused {
            return try finish(report, failure: refused.message == "certificate_untrusted" ? "certificate_untrusted: the TLS chain does not lead to --ca" : "connection_failed")
        } catch {
            return try finish(report, failure: "connection_failed: \(host) did not answer over TLS within \(timeout) s")
        }
        guard answer.response.status == 200, let attestation = try? JSONDecoder().decode(GatewayAttestation.self, from: body) else {
            return try finish(report, failure: "no_attestation: GET /v1/attestation answered HTTP \(answer.response.status)")
        }
        report.tee = attestation.tee
        report.policyDigest = attestation.policyDigest
        guard let leaf = answer.peerChain.first else { return try finish(report, failure: "no_certificate") }
        var spki = DER.Serializer()
        try spki.serialize(leaf.publicKey)
        let connectionKey = Hex.encode(SHA256.hash(data: spki.serializedBytes))
        report.tlsPublicKeySHA256 = connectionKey
        report.certificateNotAfter = AuditRecord.timestamp(leaf.notValidAfter)
        report.workload = WorkloadExtension(leaf)?.workload
        var failures: [String] = []
        if !attestation.fresh { failures.append("not_fresh: the gateway answered cached evidence for a nonce request") }
        let expected = ClientAttestationBinding(nonce: clientNonce, tlsPublicKeySHA256: connectionKey)
        if let claimed = try? JSONDecoder().decode(ClientAttestationBinding.self, from: Data(attestation.runtimeData.utf8)) {
            if claimed.nonce != clientNonce { failures.append("nonce_mismatch: the evidence binds another nonce (replayed evidence)") }
            if claimed.tlsPublicKeySHA256 != connectionKey {
                failures.append("tls_key_mismatch: the evidence binds another TLS key than this connection's (\(claimed.tlsPublicKeySHA256.prefix(16))…)")
            }
        } else {
            failures.append("malformed_runtime_data")
        }
        guard let bytes = Base64URL.decode(attestation.evidence) else { return try finish(report, failure: "malformed_evidence") }
        let verifiers = try SealgateBroker.verifiers(tdxCollateralPath: tdxCollateral, amdCertChainPaths: [])
        let signers = (try? values.parsedMockSigners()) ?? []
        let mock: [any AttestationVerifier] = signers.isEmpty ? [] : [MockEvidenceVerifier(trustedSigners: signers)]
        let result = Appraiser(referenceValues: values, verifiers: verifiers.filter { $0.tee != .mock } + mock)
            .appraise(Evidence(tee: TEEType(attestation.tee), bytes: bytes), reportData: .equals(expected.reportData), now: Date())
        report.measurement = result.measurement.isEmpty ? attestation.measurement : result.measurement
        report.status = result.status.rawValue
        report.tcbStatus = result.tcbStatus?.rawValue
        report.referenceValueSet = result.referenceValueSet
        if result.status == .contraindicated {
            failures.append("evidence_rejected: " + result.failures.map(\.reason.rawValue).joined(separator: ", "))
        }
        report.failures = failures
        report.verified = failures.isEmpty
        try emit(report)
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// With `--ca`: the chain must lead to it and name the host, valid now. Without: any chain (the evidence decides).
    static func chainTrusted(_ chain: [Certificate], roots: [Certificate]?, host: String) async -> Bool {
        guard let roots else { return true }
        return await ChainCheck.verifiedLeaf(chain, roots: roots, host: host, now: Date()) != nil
    }

    func finish(_ report: Report, failure: String) throws {
        var report = report
        report.failures = [failure]
        try emit(report)
        throw ExitCode(1)
    }

    func emit(_ report: Report) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(report.verified ? "VERIFIED \(report.url)" : "NOT VERIFIED \(report.url)")
        for (name, value) in [
            ("tee", report.tee), ("measurement", report.measurement), ("appraisal", report.status), ("tcb status", report.tcbStatus),
            ("reference set", report.referenceValueSet), ("policy digest", report.policyDigest), ("tls key sha-256", report.tlsPublicKeySHA256),
            ("workload", report.workload), ("certificate until", report.certificateNotAfter),
        ] {
            if let value { print("  \(name): \(value)") }
        }
        for failure in report.failures { print("  FAILED \(failure)") }
    }
}
