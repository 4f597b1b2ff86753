import Attestation

/// How the gateway reaches a key broker: in-process for the embedded default, over HTTP (the KBS protocol) for a
/// standalone `sealgate broker`. Transport failures throw; broker decisions are values.
public protocol BrokerClient: Sendable {
    /// `POST /kbs/v0/auth`.
    func auth(tee: TEEType) async throws -> Result<AuthChallenge, ReleaseDecision>
    /// `POST /kbs/v0/attest` on the session `auth` opened.
    func attest(sessionID: String, _ request: AttestRequest) async throws -> AttestOutcome
    /// `GET /kbs/v0/resource/<path>` with the attestation token.
    func resource(token: String, path: String) async throws -> ReleaseOutcome
    /// `POST /kbs/v0/workload-certificate` with the attestation token: a certificate from the broker's workload CA
    /// for a key the evidence bound.
    func workloadCertificate(token: String, _ request: WorkloadCertificateRequest) async throws -> CertificateOutcome
}
