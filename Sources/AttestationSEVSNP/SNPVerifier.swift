import Attestation
import Crypto
import Foundation
import SealgateCore

/// The outcome of verifying an SNP report with its certificates.
public enum SNPVerification: Sendable, Equatable {
    case verified(SNPReport)
    case rejected([AttestationFailure])
}

/// SNP evidence as the verifier receives it: the report and the certificates needed to check it offline.
public struct SNPEvidenceBundle: Codable, Sendable {
    /// Base64 of the 1184-byte report.
    public var report: String
    /// The VCEK or VLEK certificate, PEM.
    public var vcek: String
    /// The ASK (or ASVK) then the ARK, PEM, as AMD KDS serves `cert_chain`.
    public var certChain: String

    enum CodingKeys: String, CodingKey {
        case report, vcek
        case certChain = "cert_chain"
    }

    public init(report: Data, vcekPEM: String, certChainPEM: String) {
        self.report = report.base64EncodedString()
        self.vcek = vcekPEM
        self.certChain = certChainPEM
    }
}

/// Verifies AMD SEV-SNP attestation reports: the ECDSA P-384 report signature by the VCEK/VLEK, the chain
/// VCEK → ASK (or VLEK → ASVK) → ARK with RSASSA-PSS SHA-384, the ARK pinned, every certificate valid at the
/// verification time, and the VCEK's TCB and hardware-id extensions matched against the report. Pure.
public struct SNPAttestationVerifier: AttestationVerifier {
    public let tee = TEEType.snp
    let pinnedARKs: Set<String>
    /// Chains that verified before (optional): repeated reports from one chip then cost one P-384 verification.
    public var chainCache: VerifiedChainCache?

    /// A verifier trusting AMD's published ARKs (``VendorRoots/amdARKs``).
    public init() { pinnedARKs = VendorRoots.amdARKs }

    /// A verifier trusting exactly the given ARKs (PEM).
    public init(arkPEMs: [String]) throws {
        pinnedARKs = Set(try arkPEMs.flatMap { try AMDCertificate.pem($0).map { VendorRoots.fingerprint($0.der) } })
        guard !pinnedARKs.isEmpty else { throw AttestationError(.malformedEvidence, "no ARK given") }
    }

    public func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome {
        guard evidence.bytes.count <= 64 * 1024 else {
            return .rejected([AttestationFailure(.malformedEvidence, "SNP evidence bundle larger than 64 KiB")])
        }
        guard let bundle = try? JSONDecoder().decode(SNPEvidenceBundle.self, from: evidence.bytes),
            let report = Data(base64Encoded: bundle.report), let vcek = try? AMDCertificate.pem(bundle.vcek).first,
            let chain = try? AMDCertificate.pem(bundle.certChain)
        else { return .rejected([AttestationFailure(.malformedEvidence, "not an SNP evidence bundle (report, vcek, cert_chain)")]) }
        switch verify(report: report, vcek: vcek, chain: chain, at: now) {
        case .rejected(let failures): return .rejected(failures)
        case .verified(let r):
            return .verified(
                VerifiedClaims(
                    tee: .snp, measurement: Hex.encode(r.measurement), reportData: r.reportData, initDataDigest: r.hostData,
                    debug: r.debugAllowed, svn: Int(r.reportedTCBParts.snp), signerID: Hex.encode(r.chipID), vmpl: Int(r.vmpl),
                    migratable: r.migrationAgentAllowed, tcbComponents: r.tcbComponents))
        }
    }

    static let oidBootLoader = "1.3.6.1.4.1.3704.1.3.1"
    static let oidTEE = "1.3.6.1.4.1.3704.1.3.2"
    static let oidSNP = "1.3.6.1.4.1.3704.1.3.3"
    static let oidMicrocode = "1.3.6.1.4.1.3704.1.3.8"
    static let oidHardwareID = "1.3.6.1.4.1.3704.1.4"

    /// Verifies a report with its VCEK/VLEK and `cert_chain` (ASK or ASVK, then ARK) at `date`.
    public func verify(report bytes: Data, vcek: AMDCertificate, chain: [AMDCertificate], at date: Date) -> SNPVerification {
        func reject(_ reason: AttestationReason, _ detail: String) -> SNPVerification { .rejected([AttestationFailure(reason, detail)]) }
        let report: SNPReport
        do { report = try SNPReport(bytes) } catch { return reject(.malformedEvidence, "\(error)") }
        guard chain.count == 2 else { return reject(.chainInvalid, "cert_chain must hold the ASK (or ASVK) and the ARK") }
        let (ask, ark) = (chain[0], chain[1])
        let cacheKey = VendorRoots.fingerprint(vcek.der + ask.der + ark.der)
        if chainCache?.contains(cacheKey, at: date) != true {
            guard pinnedARKs.contains(VendorRoots.fingerprint(ark.der)) else { return reject(.chainInvalid, "the ARK is not a pinned AMD root") }
            guard ark.isSigned(by: ark), ask.isSigned(by: ark), vcek.isSigned(by: ask) else {
                return reject(.chainInvalid, "the chain VCEK → ASK → ARK does not verify (RSASSA-PSS SHA-384)")
            }
            for (name, certificate) in [("ARK", ark), ("ASK", ask), ("VCEK", vcek)] where !certificate.isValid(at: date) {
                return reject(.certificateExpired, "the \(name) is not valid at the verification time")
            }
            chainCache?.insert(
                cacheKey, validFrom: [ark, ask, vcek].map(\.notBefore).max() ?? date,
                validUntil: [ark, ask, vcek].map(\.notAfter).min() ?? date)
        }
        guard report.signatureIsCanonical else {
            return reject(.signatureNonCanonical, "the report's signature block is not canonical (non-zero padding of R or S, or reserved bytes)")
        }
        guard let key = try? P384.Signing.PublicKey(derRepresentation: vcek.subjectPublicKeyInfo),
            let signature = try? P384.Signing.ECDSASignature(rawRepresentation: report.signatureRS),
            key.isValidSignature(signature, for: bytes.prefix(SNPReport.signedLength))
        else { return reject(.signatureInvalid, "the report's ECDSA P-384 signature does not verify with the VCEK") }
        let tcb = report.reportedTCBParts
        let expected: [(String, UInt8)] = [
            (Self.oidBootLoader, tcb.bootLoader), (Self.oidTEE, tcb.tee), (Self.oidSNP, tcb.snp), (Self.oidMicrocode, tcb.microcode),
        ]
        for (oid, value) in expected where vcek.integerExtension(oid).map({ $0 != UInt64(value) }) ?? true {
            return reject(.chainInvalid, "the VCEK's TCB extension \(oid) does not match REPORTED_TCB")
        }
        if report.signingKey == 0 {
            guard vcek.extensions[Self.oidHardwareID] == report.chipID else {
                return reject(.chainInvalid, "the VCEK's hardware id does not match CHIP_ID")
            }
        }
        return .verified(report)
    }
}
