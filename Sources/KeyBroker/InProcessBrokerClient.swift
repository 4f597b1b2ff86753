import Attestation
import KBSProtocol

/// A broker running in the same process (the embedded default): the same ``KeyBroker`` the standalone service runs.
public struct InProcessBrokerClient: BrokerClient {
    let broker: KeyBroker
    public init(broker: KeyBroker) { self.broker = broker }
    public func auth(tee: TEEType) async throws -> Result<AuthChallenge, ReleaseDecision> {
        await broker.auth(version: "0.1.0", tee: tee)
    }
    public func attest(sessionID: String, _ request: AttestRequest) async throws -> AttestOutcome {
        await broker.attest(sessionID: sessionID, request)
    }
    public func resource(token: String, path: String) async throws -> ReleaseOutcome {
        await broker.resource(.token(token), path: path)
    }
    public func workloadCertificate(token: String, _ request: WorkloadCertificateRequest) async throws -> CertificateOutcome {
        await broker.workloadCertificate(.token(token), request)
    }
}
