import Foundation
import SealgateCore

/// Turns verified evidence and reference values into an ``AttestationResult``.
public struct Appraiser: Sendable {
    public let referenceValues: ReferenceValues
    let verifiers: [TEEType: any AttestationVerifier]
    /// The pinned image digests whose bundles verified (`ReferenceImages`); a set requiring signatures accepts no
    /// digest missing here.
    public let imageSigners: VerifiedImageSigners

    /// Creates an appraiser over the given verifiers (one per evidence type).
    public init(
        referenceValues: ReferenceValues, verifiers: [any AttestationVerifier], imageSigners: VerifiedImageSigners = VerifiedImageSigners()
    ) {
        self.referenceValues = referenceValues
        self.imageSigners = imageSigners
        var map = [TEEType: any AttestationVerifier]()
        for verifier in verifiers { map[verifier.tee] = verifier }
        self.verifiers = map
    }

    /// Verifies and appraises evidence. Never throws: every problem becomes a failure in the result.
    /// - Parameters:
    ///   - reportData: what REPORT_DATA must equal (the KBS binding of nonce and TEE key).
    ///   - initDataDigest: the init-data digest the evidence must carry, when the caller supplied init-data.
    ///   - imageDigest: the image digest that init-data names (trusted only when `initDataDigest` matches).
    public func appraise(
        _ evidence: Evidence, reportData: ReportDataExpectation, initDataDigest: Data? = nil, imageDigest: String? = nil, now: Date
    ) -> AttestationResult {
        var result = AttestationResult(
            status: .contraindicated, tee: evidence.tee,
            trustworthiness: TrustworthinessVector(instanceIdentity: 96, configuration: 0, executables: 0, hardware: 0),
            referenceValueSet: nil, evidenceDigest: evidence.digest, measurement: "", debug: false, svn: 0,
            failures: [], issuedAt: Int(now.timeIntervalSince1970))
        guard let verifier = verifiers[evidence.tee] else {
            result.failures = [AttestationFailure(.unsupportedEvidence, "no verifier for evidence type \(evidence.tee)")]
            return result
        }
        if evidence.tee == .mock && !referenceValues.acceptMockEvidence {
            result.failures = [AttestationFailure(.mockEvidenceNotAccepted, "mock evidence under a policy that refuses it")]
            return result
        }
        let claims: VerifiedClaims
        switch verifier.verify(evidence, now: now) {
        case .rejected(let failures):
            result.failures = failures
            return result
        case .verified(let verified):
            claims = verified
        }
        var failures = [AttestationFailure]()
        var vector = TrustworthinessVector(
            instanceIdentity: 2, configuration: 2, executables: 2, hardware: evidence.tee == .mock ? 32 : 2)
        if evidence.tee == .mock { vector.configuration = 32 }
        result.measurement = claims.measurement
        result.debug = claims.debug
        result.svn = claims.svn
        result.tcbStatus = claims.tcbStatus
        result.qeStatus = claims.qeStatus
        var tcbWarning = false

        switch reportData {
        case .equals(let expected) where expected != claims.reportData:
            failures.append(AttestationFailure(.reportDataMismatch, "REPORT_DATA does not bind the expected runtime data"))
            vector.configuration = 96
        default:
            break
        }
        var boundImage: String?
        if let expectedInit = initDataDigest, claims.initDataDigest != expectedInit {
            failures.append(AttestationFailure(.initDataMismatch, "init-data digest differs from the evidence"))
            vector.configuration = 96
        } else if initDataDigest != nil {
            boundImage = imageDigest.flatMap(ImageRequirement.normalized)
        }
        result.image = boundImage.map { ImageClaims(digest: $0, signedBy: nil) }

        let candidates = referenceValues.sets.filter { $0.tee == evidence.tee }
        let measurement = claims.measurement.lowercased()
        let matching = candidates.filter { set in set.measurements.contains { $0.lowercased() == measurement } }
        if let set = matching.first {
            if claims.debug && !set.insecureAllowDebug {
                failures.append(AttestationFailure(.debugEnabled, "TEE runs with debug enabled"))
                vector.configuration = 96
            }
            if let vmpl = claims.vmpl, vmpl > set.maxVMPL {
                failures.append(AttestationFailure(.vmplNotAllowed, "evidence from VMPL \(vmpl); set \(set.id) allows VMPL \(set.maxVMPL) at most"))
                vector.configuration = 96
            }
            if claims.migratable && !set.insecureAllowMigration {
                failures.append(AttestationFailure(.migrationAllowed, "the host may migrate this guest (migration agent / MIGRATABLE)"))
                vector.configuration = 96
            }
            if let tdx = claims.tdx {
                // Not for az-tdx-vtpm: there the TD is Azure's paravisor, which takes the guest's EPT violations itself
                // (real Azure TD quotes have the bit clear); its set already pins only the paravisor.
                if claims.tee == .tdx && !tdx.septVEDisabled && !set.insecureAllowSEPTVE {
                    failures.append(AttestationFailure(.septVEEnabled, "TDATTRIBUTES SEPT_VE_DISABLE is clear: the host can raise #VE in the TD at will"))
                    vector.configuration = 96
                }
                if tdx.bindsServiceTD, let bound = tdx.mrServiceTD.map({ Hex.encode($0) }),
                    !(set.serviceTDs ?? []).contains(where: { $0.lowercased() == bound })
                {
                    failures.append(AttestationFailure(.serviceTDNotAllowed, "a service TD \(bound.prefix(16))… is bound; set \(set.id) does not list it"))
                    vector.configuration = 96
                }
            }
            if let allowed = set.allowedPlatforms, !allowed.contains(where: { $0.lowercased() == claims.signerID.lowercased() }) {
                failures.append(AttestationFailure(.platformNotAllowed, "platform \(claims.signerID.prefix(16))… is not allowed by set \(set.id)"))
                vector.instanceIdentity = 96
            }
            if claims.svn < set.minSVN {
                failures.append(AttestationFailure(.tcbOutOfDate, "SVN \(claims.svn) below minimum \(set.minSVN)"))
                vector.executables = 96
            }
            for (name, minimum) in (set.minTCB ?? [:]).sorted(by: { $0.key < $1.key }) {
                let level = claims.tcbComponents?[name]
                if let level, level >= minimum { continue }
                failures.append(AttestationFailure(.tcbOutOfDate, "TCB component \(name) at \(level.map(String.init) ?? "unknown"), below minimum \(minimum)"))
                vector.executables = 96
            }
            let tcb = TCBAppraisal(claims: claims, set: set)
            failures += tcb.failures
            tcbWarning = tcb.warning
            if evidence.tee != .mock { vector.hardware = tcb.hardware }
            if let rule = set.image {
                let image = appraiseImage(rule, set: set.id, digest: boundImage)
                failures += image.failures
                if !image.failures.isEmpty { vector.executables = 96 }
                result.image = image.claims
            }
            result.referenceValueSet = set.id
        } else {
            failures.append(AttestationFailure(.measurementUnknown, "measurement matches no reference value set"))
            vector.executables = 33
            if claims.debug {
                failures.append(AttestationFailure(.debugEnabled, "TEE runs with debug enabled"))
                vector.configuration = 96
            }
        }
        result.trustworthiness = vector
        result.failures = failures
        if !failures.isEmpty {
            result.status = .contraindicated
        } else if evidence.tee == .mock || tcbWarning {
            result.status = .warning
        } else {
            result.status = .affirming
        }
        return result
    }

    /// The image rule of the matched set over the image digest the verified init-data names.
    private func appraiseImage(_ rule: ImageRequirement, set: String, digest: String?) -> (failures: [AttestationFailure], claims: ImageClaims?) {
        guard let digest else {
            return ([AttestationFailure(.imageDigestMissing, "set \(set) pins an image; no verified init-data names one")], nil)
        }
        guard rule.digests.contains(where: { ImageRequirement.normalized($0) == digest }) else {
            return ([AttestationFailure(.imageNotAllowed, "image \(digest.prefix(19))… is not pinned by set \(set)")], ImageClaims(digest: digest, signedBy: nil))
        }
        guard !rule.signedBy.isEmpty else { return ([], ImageClaims(digest: digest, signedBy: nil)) }
        guard let signer = imageSigners.signer(set: set, digest: digest) else {
            return ([AttestationFailure(.imageSignatureUnverified, "no verified signature of \(digest.prefix(19))… for set \(set)")],
                    ImageClaims(digest: digest, signedBy: nil))
        }
        return ([], ImageClaims(digest: digest, signedBy: signer))
    }
}
