import Crypto
import Foundation
import SealgateCore

/// One named set of acceptable values for one evidence type.
public struct ReferenceValueSet: Sendable, Codable, Equatable {
    /// The set's id, reported in attestation results and audit records.
    public var id: String
    /// The evidence type it applies to (`mock`, `snp`, `tdx`, `nitro`).
    public var tee: TEEType
    /// Allowed measurements, hex (case-insensitive).
    public var measurements: [String]
    /// Minimum SVN / TCB level.
    public var minSVN: Int
    /// Whether debug-enabled TEEs are acceptable. Loudly named so nobody sets it by accident.
    public var insecureAllowDebug: Bool
    /// Platform TCB statuses (``VerifiedClaims/tcbStatus``) this set accepts; default `UpToDate` only. Any other
    /// accepted status appraises as `warning`. Revoked, unmatched and unrated TCBs are never accepted.
    public var acceptedTCBStatuses: [TCBStatus]
    /// QE (evidence signer) statuses (``VerifiedClaims/qeStatus``) this set accepts; default `UpToDate` only.
    public var acceptedQEStatuses: [TCBStatus]
    /// Accept evidence whose TCB the verifier could not rate for lack of collateral (``TCBStatus/notEvaluated``),
    /// as `warning`. Loudly named: without collateral nobody knows whether the platform is patched or revoked.
    public var insecureSkipTCBStatus: Bool
    /// When set, only these platforms may match (``VerifiedClaims/signerID``, case-insensitive): SEV-SNP CHIP_ID
    /// (hex), Nitro `module_id`, mock signer thumbprint, TDX attestation-key prefix. `nil` accepts any platform.
    public var allowedPlatforms: [String]?
    /// When set, the workload's init-data must name one of these image digests, signed as the rule says
    /// (`docs/reference-values.md`).
    public var image: ImageRequirement?
    /// The least privileged SEV-SNP VMPL whose evidence may match (0–3; default 0: only the most privileged level,
    /// the one the launch measurement describes).
    public var maxVMPL: Int
    /// Accept a guest the host may migrate (SEV-SNP migration agent, TDX MIGRATABLE). Loudly named: a migration
    /// agent or a migration TD can take the guest's memory out of this platform.
    public var insecureAllowMigration: Bool
    /// Required, and true, for a set of an Azure vTPM type (`az-snp-vtpm`, `az-tdx-vtpm`) read from reference
    /// values: their measurement is the Azure paravisor's, the same for every confidential VM of that Azure release,
    /// and sets cannot name the PCRs that measure the guest yet — such a set accepts any guest on that paravisor.
    public var insecurePinsParavisorOnly: Bool

    /// Accept a TD without TDATTRIBUTES SEPT_VE_DISABLE (bit 28). Loudly named: such a TD lets the host raise #VE in
    /// it at any instruction by unmapping a private page. Only for `tdx` sets (an `az-tdx-vtpm` TD is Azure's
    /// paravisor, which handles the guest's EPT violations itself: the bit is not checked there).
    public var insecureAllowSEPTVE: Bool
    /// Service TDs (MRSERVICETD, 96 hex digits) that may be bound to the TD; a TD with another one bound is refused
    /// `service_td_not_allowed`, one with none bound (zero, or a TDX 1.0 body) always passes. Only for TDX sets.
    public var serviceTDs: [String]?
    /// Evidence types of TDX sets.
    public static let tdxTypes: Set<TEEType> = [.tdx, .azureTDXVTPM]

    /// Minimum level per TCB component (SEV-SNP: `bl`, `tee`, `snp`, `ucode` of REPORTED_TCB), on top of
    /// ``minSVN`` (which compares only the SNP firmware level): an old microcode or boot loader on current firmware is
    /// refused `tcb_out_of_date`. Only for `snp` and `az-snp-vtpm` sets.
    public var minTCB: [String: Int]?
    /// The component names ``minTCB`` may use.
    public static let snpTCBComponents: Set<String> = ["bl", "tee", "snp", "ucode"]

    /// Evidence types whose measurement is a paravisor's rather than the workload's.
    public static let paravisorTypes: Set<TEEType> = [.azureSNPVTPM, .azureTDXVTPM]

    enum CodingKeys: String, CodingKey {
        case id, tee, measurements
        case minSVN = "min_svn"
        case insecureAllowDebug = "insecure_allow_debug"
        case acceptedTCBStatuses = "accepted_tcb_statuses"
        case acceptedQEStatuses = "accepted_qe_statuses"
        case insecureSkipTCBStatus = "insecure_skip_tcb_status"
        case allowedPlatforms = "allowed_platforms"
        case image
        case maxVMPL = "max_vmpl"
        case insecureAllowMigration = "insecure_allow_migration"
        case insecurePinsParavisorOnly = "insecure_pins_paravisor_only"
        case minTCB = "min_tcb"
        case insecureAllowSEPTVE = "insecure_allow_sept_ve"
        case serviceTDs = "service_tds"
    }

    /// Creates a set. Statuses in ``TCBStatus/neverAcceptable`` listed here are ignored by the appraisal.
    public init(
        id: String, tee: TEEType, measurements: [String], minSVN: Int = 0, insecureAllowDebug: Bool = false,
        acceptedTCBStatuses: [TCBStatus] = [.upToDate], acceptedQEStatuses: [TCBStatus] = [.upToDate],
        insecureSkipTCBStatus: Bool = false, allowedPlatforms: [String]? = nil, image: ImageRequirement? = nil, maxVMPL: Int = 0,
        insecureAllowMigration: Bool = false, insecurePinsParavisorOnly: Bool = false, minTCB: [String: Int]? = nil,
        insecureAllowSEPTVE: Bool = false, serviceTDs: [String]? = nil
    ) {
        self.insecureAllowSEPTVE = insecureAllowSEPTVE
        self.serviceTDs = serviceTDs
        self.minTCB = minTCB
        self.insecurePinsParavisorOnly = insecurePinsParavisorOnly
        self.maxVMPL = maxVMPL
        self.insecureAllowMigration = insecureAllowMigration
        self.image = image
        self.allowedPlatforms = allowedPlatforms
        self.id = id
        self.tee = tee
        self.measurements = measurements
        self.minSVN = minSVN
        self.insecureAllowDebug = insecureAllowDebug
        self.acceptedTCBStatuses = acceptedTCBStatuses
        self.acceptedQEStatuses = acceptedQEStatuses
        self.insecureSkipTCBStatus = insecureSkipTCBStatus
    }

    /// Decodes a set; missing fields take their defaults.
    /// - Throws: `DecodingError.dataCorrupted` when an accepted-status list names `Revoked`, `NoMatchingTcbLevel`
    ///   or `NotEvaluated`, which no set may accept.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        tee = try c.decode(TEEType.self, forKey: .tee)
        measurements = try c.decode([String].self, forKey: .measurements)
        minSVN = try c.decodeIfPresent(Int.self, forKey: .minSVN) ?? 0
        insecureAllowDebug = try c.decodeIfPresent(Bool.self, forKey: .insecureAllowDebug) ?? false
        acceptedTCBStatuses = try c.decodeIfPresent([TCBStatus].self, forKey: .acceptedTCBStatuses) ?? [.upToDate]
        acceptedQEStatuses = try c.decodeIfPresent([TCBStatus].self, forKey: .acceptedQEStatuses) ?? [.upToDate]
        insecureSkipTCBStatus = try c.decodeIfPresent(Bool.self, forKey: .insecureSkipTCBStatus) ?? false
        allowedPlatforms = try c.decodeIfPresent([String].self, forKey: .allowedPlatforms)
        image = try c.decodeIfPresent(ImageRequirement.self, forKey: .image)
        maxVMPL = try c.decodeIfPresent(Int.self, forKey: .maxVMPL) ?? 0
        guard (0...3).contains(maxVMPL) else {
            throw DecodingError.dataCorruptedError(forKey: .maxVMPL, in: c, debugDescription: "max_vmpl must be 0, 1, 2 or 3")
        }
        insecureAllowMigration = try c.decodeIfPresent(Bool.self, forKey: .insecureAllowMigration) ?? false
        insecurePinsParavisorOnly = try c.decodeIfPresent(Bool.self, forKey: .insecurePinsParavisorOnly) ?? false
        minTCB = try c.decodeIfPresent([String: Int].self, forKey: .minTCB)
        if let minTCB {
            guard tee == .snp || tee == .azureSNPVTPM else {
                throw DecodingError.dataCorruptedError(forKey: .minTCB, in: c, debugDescription: "min_tcb applies to snp and az-snp-vtpm sets only")
            }
            for (name, level) in minTCB where !Self.snpTCBComponents.contains(name) || !(0...255).contains(level) {
                throw DecodingError.dataCorruptedError(
                    forKey: .minTCB, in: c, debugDescription: "min_tcb.\(name) = \(level): components are bl, tee, snp, ucode with levels 0-255")
            }
        }
        insecureAllowSEPTVE = try c.decodeIfPresent(Bool.self, forKey: .insecureAllowSEPTVE) ?? false
        serviceTDs = try c.decodeIfPresent([String].self, forKey: .serviceTDs)
        if insecureAllowSEPTVE && tee != .tdx {
            throw DecodingError.dataCorruptedError(forKey: .insecureAllowSEPTVE, in: c, debugDescription: "insecure_allow_sept_ve applies to tdx sets only")
        }
        if serviceTDs != nil && !Self.tdxTypes.contains(tee) {
            throw DecodingError.dataCorruptedError(forKey: .serviceTDs, in: c, debugDescription: "service_tds applies to tdx and az-tdx-vtpm sets only")
        }
        if let bad = serviceTDs?.first(where: { $0.count != 96 || Hex.decode($0) == nil }) {
            throw DecodingError.dataCorruptedError(forKey: .serviceTDs, in: c, debugDescription: "service_tds: \(bad.prefix(100)) is not 96 hex digits")
        }
        if Self.paravisorTypes.contains(tee), !insecurePinsParavisorOnly {
            throw DecodingError.dataCorruptedError(
                forKey: .insecurePinsParavisorOnly, in: c,
                debugDescription: "a set for \(tee.rawValue) pins only the Azure paravisor, which every confidential VM of that release shares "
                    + "(the guest is measured in PCRs sets cannot name yet): say insecure_pins_paravisor_only: true to accept that")
        }
        for (key, list) in [(CodingKeys.acceptedTCBStatuses, acceptedTCBStatuses), (.acceptedQEStatuses, acceptedQEStatuses)] {
            if let bad = list.first(where: { TCBStatus.neverAcceptable.contains($0) }) {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c,
                    debugDescription: "\(bad) can never be accepted (use insecure_skip_tcb_status for missing collateral)")
            }
        }
    }
}

/// The reference values an appraisal compares evidence against.
public struct ReferenceValues: Sendable, Codable, Equatable {
    /// The sets; evidence is appraised against the first set of its type that lists its measurement, whose
    /// debug and SVN rules then apply.
    public var sets: [ReferenceValueSet]
    /// Whether mock evidence may appraise at all. Off in production; mock results are at best `warning`.
    public var acceptMockEvidence: Bool
    /// PEM public keys (P-256) of the mock TEEs whose evidence is trusted, when mock evidence is accepted.
    public var mockSigners: [String]

    enum CodingKeys: String, CodingKey {
        case sets
        case acceptMockEvidence = "accept_mock_evidence"
        case mockSigners = "mock_signers"
    }

    public init(sets: [ReferenceValueSet], acceptMockEvidence: Bool, mockSigners: [String] = []) {
        self.sets = sets
        self.acceptMockEvidence = acceptMockEvidence
        self.mockSigners = mockSigners
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sets = try c.decodeIfPresent([ReferenceValueSet].self, forKey: .sets) ?? []
        acceptMockEvidence = try c.decodeIfPresent(Bool.self, forKey: .acceptMockEvidence) ?? false
        mockSigners = try c.decodeIfPresent([String].self, forKey: .mockSigners) ?? []
    }

    /// The mock signer keys, parsed.
    /// - Throws: ``AttestationError`` naming the first entry that is not a P-256 public key PEM.
    public func parsedMockSigners() throws -> [P256.Signing.PublicKey] {
        try mockSigners.enumerated().map { index, pem in
            guard let key = try? P256.Signing.PublicKey(pemRepresentation: pem) else {
                throw AttestationError(.malformedEvidence, "mock_signers[\(index)] is not a P-256 public key PEM")
            }
            return key
        }
    }
}

/// What REPORT_DATA must be. Skipping the check is possible only by this loudly named case.
public enum ReportDataExpectation: Sendable, Equatable {
    /// REPORT_DATA must equal these 64 bytes.
    case equals(Data)
    /// No binding check: evidence could be replayed. Only for offline inspection of vectors.
    case insecureSkipBindingCheck
}
