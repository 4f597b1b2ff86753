import Attestation
import AttestationSEVSNP
import AttestationTDX
import Crypto
import Foundation
import SealgateCore

/// The outcome of verifying Azure vTPM evidence.
public enum AzureVTPMVerification: Sendable {
    case verified(AzureVTPMClaims)
    case rejected([AttestationFailure])
}

/// Claims from Azure vTPM evidence whose hardware report, runtime-data binding, vTPM quote signature and PCR digest
/// all verified.
public struct AzureVTPMClaims: Sendable {
    /// The verified hardware evidence.
    public enum Hardware: Sendable {
        /// The SEV-SNP report inside the HCL report.
        case snp(SNPReport)
        /// The TDX DCAP quote over the HCL report's TDREPORT, with its rating against Intel's collateral (as the
        /// `tdx` verifier rates a quote: ``TCBStatus/notEvaluated`` where no collateral was configured).
        case tdx(TDXQuote, TDXRating)
    }

    /// The PCR that carries the init-data digest on Azure (Confidential Containers' convention).
    public static let initDataPCR = 8

    public let tee: TEEType
    public let hardware: Hardware
    public let hcl: HCLReport
    public let runtimeData: AzureRuntimeData
    public let quote: TPMQuote
    /// The quoted SHA-256 PCR values by index.
    public let pcrs: [Int: Data]

    /// The quote's `extraData`: the nonce (for the broker, the KBS runtime-data binding) the vTPM signed.
    public var nonce: Data { quote.extraData }

    /// The hardware measurement, hex: SNP MEASUREMENT (48 B), or TDX MRTD ‖ RTMR0–3 (240 B) as the TDX verifier
    /// reports it. On Azure this measures the paravisor, not the guest: the guest's boot is in ``pcrs``.
    public var measurement: String {
        switch hardware {
        case .snp(let r): return Hex.encode(r.measurement)
        case .tdx(let q, _): return Hex.encode(q.mrTD) + (0..<4).map { Hex.encode(q.rtmr($0)) }.joined()
        }
    }

    /// The hardware report's REPORT_DATA (its first 32 bytes are SHA-256 of the runtime data).
    public var hardwareReportData: Data {
        switch hardware {
        case .snp(let r): return r.reportData
        case .tdx(let q, _): return q.reportData
        }
    }

    /// Whether PCR 8 equals the extension of an all-zero PCR by `digest`, SHA-256(0³² ‖ digest): how the Confidential
    /// Containers guest measures its init-data digest on Azure. `false` when PCR 8 was not quoted.
    public func bindsInitData(_ digest: Data) -> Bool {
        guard let pcr = pcrs[Self.initDataPCR] else { return false }
        return Data(SHA256.hash(data: Data(count: 32) + digest)) == pcr
    }

    /// The common claims: `reportData` is the quote's nonce; `initDataDigest` is `nil` (see ``bindsInitData(_:)``).
    public var verifiedClaims: VerifiedClaims {
        switch hardware {
        case .snp(let r):
            return VerifiedClaims(
                tee: tee, measurement: measurement, reportData: nonce, initDataDigest: nil, debug: r.debugAllowed,
                svn: Int(r.reportedTCBParts.snp), signerID: Hex.encode(r.chipID), vmpl: Int(r.vmpl), migratable: r.migrationAgentAllowed,
                tcbComponents: r.tcbComponents)
        case .tdx(let q, let rating):
            return VerifiedClaims(
                tee: tee, measurement: measurement, reportData: nonce, initDataDigest: nil, debug: q.debug,
                svn: Int(q.teeTCBSVN.first ?? 0), signerID: Hex.encode(q.attestationKey.prefix(8)), tcbStatus: rating.tcb,
                qeStatus: rating.qe, migratable: q.migratable, tdx: TDXGuestClaims(septVEDisabled: q.septVEDisabled, mrServiceTD: q.mrServiceTD))
        }
    }
}
