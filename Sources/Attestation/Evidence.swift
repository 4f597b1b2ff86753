import Crypto
import Foundation
import SealgateCore

/// The kind of TEE that produced evidence.
public struct TEEType: StringCode {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// Development evidence signed by a software key: no hardware guarantee at all.
    public static let mock = TEEType("mock")
    public static let snp = TEEType("snp")
    public static let tdx = TEEType("tdx")
    public static let nitro = TEEType("nitro")
    /// Azure confidential VM on AMD SEV-SNP: HCL report (SNP report + runtime data) and a vTPM quote.
    public static let azureSNPVTPM = TEEType("az-snp-vtpm")
    /// Azure confidential VM on Intel TDX: HCL report (TDREPORT + runtime data), the TD quote and a vTPM quote.
    public static let azureTDXVTPM = TEEType("az-tdx-vtpm")
}

/// Raw evidence as a TEE produced it.
public struct Evidence: Sendable, Equatable {
    public let tee: TEEType
    public let bytes: Data

    public init(tee: TEEType, bytes: Data) {
        self.tee = tee
        self.bytes = bytes
    }

    /// SHA-256 of the evidence bytes, hex; names the evidence in results and audit records.
    public var digest: String { "sha-256:" + Hex.encode(SHA256.hash(data: bytes)) }
}

/// Claims extracted from evidence whose signature and chain verified.
///
/// Encodes (for `sealgate attestation verify --json`) with snake_case keys and bytes as lowercase hex; the shape
/// is the same for every evidence type.
public struct VerifiedClaims: Sendable, Equatable, Encodable {
    public let tee: TEEType
    /// The launch measurement, hex.
    public let measurement: String
    /// The 64-byte REPORT_DATA the TEE bound into the evidence.
    public let reportData: Data
    /// The init-data digest (HOST_DATA / MRCONFIGID), when present.
    public let initDataDigest: Data?
    /// Whether the TEE runs with debugging enabled.
    public let debug: Bool
    /// Security version number / TCB level, as one comparable integer.
    public let svn: Int
    /// The signer's key id (mock) or chip / platform id (hardware).
    public let signerID: String
    /// The vendor's rating of the platform TCB (TDX: from Intel's TCB Info); `nil` when the evidence type has no
    /// such rating, ``TCBStatus/notEvaluated`` when it has one but the verifier had no collateral.
    public let tcbStatus: TCBStatus?
    /// The rating of the component that signed the evidence (TDX: the Quoting Enclave, from Intel's QE Identity);
    /// `nil` or ``TCBStatus/notEvaluated`` as for ``tcbStatus``.
    public let qeStatus: TCBStatus?
    /// The privilege level inside the guest the evidence was requested from (SEV-SNP VMPL, 0 the most privileged);
    /// `nil` for evidence types without one. Under an SVSM or a paravisor, code at VMPL 1–3 shares the launch
    /// measurement of the layer below it.
    public let vmpl: Int?
    /// Whether the host may move the guest's memory elsewhere: SEV-SNP POLICY bit 18 (a migration agent may be
    /// bound) or TDX TDATTRIBUTES bit 29 (MIGRATABLE). Neither is part of the launch measurement.
    public let migratable: Bool
    /// The TCB component levels the evidence reports, by name (SEV-SNP REPORTED_TCB: `bl` boot loader, `tee`,
    /// `snp`, `ucode` microcode — the levels the VCEK was derived from); `nil` for other evidence types.
    public let tcbComponents: [String: Int]?
    /// TD settings outside the measurement (TDX evidence only; `nil` for other types).
    public let tdx: TDXGuestClaims?

    /// Creates claims; `tcbStatus` and `qeStatus` stay `nil` for evidence types without a vendor TCB rating.
    public init(
        tee: TEEType, measurement: String, reportData: Data, initDataDigest: Data?, debug: Bool, svn: Int,
        signerID: String, tcbStatus: TCBStatus? = nil, qeStatus: TCBStatus? = nil, vmpl: Int? = nil, migratable: Bool = false,
        tcbComponents: [String: Int]? = nil, tdx: TDXGuestClaims? = nil
    ) {
        self.tdx = tdx
        self.tcbComponents = tcbComponents
        self.vmpl = vmpl
        self.migratable = migratable
        self.tee = tee
        self.measurement = measurement
        self.reportData = reportData
        self.initDataDigest = initDataDigest
        self.debug = debug
        self.svn = svn
        self.signerID = signerID
        self.tcbStatus = tcbStatus
        self.qeStatus = qeStatus
    }

    enum CodingKeys: String, CodingKey {
        case tee, measurement, debug, svn
        case reportData = "report_data"
        case initDataDigest = "init_data_digest"
        case signerID = "signer_id"
        case tcbStatus = "tcb_status"
        case qeStatus = "qe_status"
        case vmpl, migratable
        case tcbComponents = "tcb_components"
    }

    /// Encodes every key (absent values as `null`), bytes as lowercase hex.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tee, forKey: .tee)
        try c.encode(measurement, forKey: .measurement)
        try c.encode(Hex.encode(reportData), forKey: .reportData)
        try c.encode(initDataDigest.map { Hex.encode($0) }, forKey: .initDataDigest)
        try c.encode(debug, forKey: .debug)
        try c.encode(svn, forKey: .svn)
        try c.encode(signerID, forKey: .signerID)
        try c.encode(tcbStatus, forKey: .tcbStatus)
        try c.encode(qeStatus, forKey: .qeStatus)
    }
}

/// What a TD quote says of the TD beyond its measurement, for ``ReferenceValueSet/insecureAllowSEPTVE`` and
/// ``ReferenceValueSet/serviceTDs``.
public struct TDXGuestClaims: Sendable, Equatable {
    /// TDATTRIBUTES bit 28 (SEPT_VE_DISABLE).
    public let septVEDisabled: Bool
    /// MRSERVICETD (TDX 1.5 bodies; zero when no service TD is bound); `nil` for TDX 1.0 bodies, which bind none.
    public let mrServiceTD: Data?

    /// Creates the claims.
    public init(septVEDisabled: Bool, mrServiceTD: Data?) {
        self.septVEDisabled = septVEDisabled
        self.mrServiceTD = mrServiceTD
    }

    /// Whether a service TD is bound (MRSERVICETD present and not zero).
    public var bindsServiceTD: Bool { mrServiceTD.map { $0.contains { $0 != 0 } } ?? false }
}

/// One failed check, with a stable reason.
public struct AttestationFailure: Sendable, Equatable, Codable {
    public let reason: AttestationReason
    /// A short explanation without secrets.
    public let detail: String

    public init(_ reason: AttestationReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

/// The result of verifying evidence: claims, or the reasons it was rejected.
public enum VerificationOutcome: Sendable, Equatable {
    case verified(VerifiedClaims)
    case rejected([AttestationFailure])
}

/// Verifies one kind of evidence. Pure: certificates, collateral and trusted keys are given at creation.
public protocol AttestationVerifier: Sendable {
    /// The evidence type this verifier accepts.
    var tee: TEEType { get }
    /// Verifies signatures and chains and extracts claims; never throws for bad evidence.
    func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome
}
