import Attestation
import Crypto
import Foundation
import JOSE
import KBSProtocol
import SealgateCore

extension LeaseManager {
    /// How an attestation session ended.
    enum Session {
        /// The broker refused the session (`auth`).
        case refused(ReleaseDecision)
        /// The broker appraised the evidence and denied it.
        case denied(ReleaseDecision)
        /// A token for the appraised result.
        case token(String, AttestationResult)
    }

    /// auth → evidence binding the broker's nonce, `ephemeral` and the workload key → attest. Every decision is
    /// reported through `onEvent`; an accepted attestation becomes ``lastAttestation``.
    func openSession(_ ephemeral: P256.KeyAgreement.PrivateKey) async throws -> Session {
        let tee = attester.tee
        let challenge: AuthChallenge
        switch try await client.auth(tee: tee) {
        case .failure(let decision):
            await onEvent(LeaseEvent(resource: nil, decision: decision, tee: tee))
            return .refused(decision)
        case .success(let value):
            challenge = value
        }
        let runtime = RuntimeData(
            nonce: challenge.nonce, teePublicKey: .ec(ephemeral.publicKey), workloadPublicKey: identity?.publicJWK, modelDigest: modelDigest)
        let evidence = try attester.evidence(reportData: runtime.reportData, now: now())
        switch try await client.attest(sessionID: challenge.sessionID, AttestRequest(runtimeData: runtime, initData: initData, evidence: evidence)) {
        case .denied(let decision):
            await onEvent(LeaseEvent(resource: nil, decision: decision, tee: tee))
            return .denied(decision)
        case .token(let value, let appraised):
            lastAttestation = Attestation(evidence: evidence, runtimeData: runtime, token: value)
            await onEvent(LeaseEvent(resource: nil, decision: ReleaseDecision(allowed: true, reason: .granted, rule: "appraisal", result: appraised), tee: tee))
            return .token(value, appraised)
        }
    }

    /// Attests afresh and asks the broker for one resource outside the lease — a model key (`<scope>/model/<name>`):
    /// the release is a decision like any other (audited and counted by the broker, reported here through
    /// `onEvent`). The plaintext is returned once and not kept; the lease's keys are untouched.
    /// - Returns: the released bytes, or the decision that refused them (`broker_unavailable` when the broker could
    ///   not be reached).
    public func release(_ path: String) async -> Result<Data, ReleaseDecision> {
        let ephemeral = P256.KeyAgreement.PrivateKey()
        let tee = attester.tee
        do {
            switch try await openSession(ephemeral) {
            case .refused(let decision), .denied(let decision): return .failure(decision)
            case .token(let token, _):
                switch try await client.resource(token: token, path: path) {
                case .denied(let decision):
                    await onEvent(LeaseEvent(resource: path, decision: decision, tee: tee))
                    return .failure(decision)
                case .released(let jwe, let decision, _):
                    let plain = try JWE.decrypt(jwe, with: JWK.ec(ephemeral))
                    await onEvent(LeaseEvent(resource: path, decision: decision, tee: tee, keyIDs: [path]))
                    return .success(plain)
                }
            }
        } catch {
            let decision = ReleaseDecision(allowed: false, reason: BrokerReason("broker_unavailable"), rule: "transport", result: nil)
            await onEvent(LeaseEvent(resource: path, decision: decision, tee: tee))
            return .failure(decision)
        }
    }
}
