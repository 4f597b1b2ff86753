import Crypto
import Foundation
import SealgateCore

/// Overall appraisal status, as in the IETF RATS EAR (`ear.status`).
public enum AppraisalStatus: String, Sendable, Codable, Equatable {
    case affirming, warning, contraindicated
}

/// An AR4SI trustworthiness vector (draft-ietf-rats-ar4si): each claim an integer tier.
///
/// Tiers: 0 no claim; 2–31 affirming; 32–95 warning; 96–127 contraindicated.
public struct TrustworthinessVector: Sendable, Codable, Equatable {
    /// 2: a recognised signer produced the evidence; 96: unknown signer or bad signature.
    public var instanceIdentity: Int
    /// 2: approved configuration; 32: mock (software) TEE; 96: debug enabled or binding mismatch.
    public var configuration: Int
    /// 2: measurement matches a reference set; 33: unrecognised measurement; 96: TCB below minimum.
    public var executables: Int
    /// 2: genuine hardware with an accepted, current TCB; 32: no hardware root (mock), or a TCB accepted although
    /// not `UpToDate` (known issues) or not rated under `insecure_skip_tcb_status`; 96: TCB status not accepted,
    /// out of date or revoked; 0: TCB could not be rated (no collateral).
    public var hardware: Int

    enum CodingKeys: String, CodingKey {
        case instanceIdentity = "instance-identity"
        case configuration, executables, hardware
    }

    public init(instanceIdentity: Int, configuration: Int, executables: Int, hardware: Int) {
        self.instanceIdentity = instanceIdentity
        self.configuration = configuration
        self.executables = executables
        self.hardware = hardware
    }
}

/// The outcome of appraising evidence: EAR-shaped, and the input of every release decision.
public struct AttestationResult: Sendable, Codable, Equatable {
    public var status: AppraisalStatus
    public var tee: TEEType
    public var trustworthiness: TrustworthinessVector
    /// The id of the reference value set that matched, if any.
    public var referenceValueSet: String?
    /// `sha-256:<hex>` of the evidence bytes.
    public var evidenceDigest: String
    /// The measurement claimed by the evidence (empty when it could not be read).
    public var measurement: String
    public var debug: Bool
    public var svn: Int
    /// Every failed check.
    public var failures: [AttestationFailure]
    /// Seconds since 1970.
    public var issuedAt: Int
    /// The platform TCB status the evidence was appraised with (``VerifiedClaims/tcbStatus``); absent for evidence
    /// types without one, so older results keep their encoding and digest.
    public var tcbStatus: TCBStatus? = nil
    /// The QE (evidence signer) status the evidence was appraised with (``VerifiedClaims/qeStatus``).
    public var qeStatus: TCBStatus? = nil
    /// The image the verified init-data names, and its signer when the matched set required one; absent without
    /// init-data naming an image (older results keep their encoding and digest).
    public var image: ImageClaims? = nil

    enum CodingKeys: String, CodingKey {
        case status, tee, trustworthiness, measurement, debug, svn, failures, image
        case referenceValueSet = "reference_value_set"
        case evidenceDigest = "evidence_digest"
        case issuedAt = "iat"
        case tcbStatus = "tcb_status"
        case qeStatus = "qe_status"
    }

    /// `sha-256:<hex>` of the result's sorted-key JSON; audit records carry it.
    public var digest: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        return "sha-256:" + Hex.encode(SHA256.hash(data: data))
    }
}
