import Attestation
import Foundation
import KeyBroker

/// How the gateway reaches a key broker: in-process for the embedded default, over HTTP (the KBS protocol) for a
/// standalone `sealgate broker`. Transport failures throw; broker decisions are values.
public protocol BrokerClient: Sendable {
    /// `POST /kbs/v0/auth`.
    func auth(tee: TEEType) async throws -> Result<AuthChallenge, ReleaseDecision>
    /// `POST /kbs/v0/attest` on the session `auth` opened.
    func attest(sessionID: String, _ request: AttestRequest) async throws -> AttestOutcome
    /// `GET /kbs/v0/resource/<path>` with the attestation token.
    func resource(token: String, path: String) async throws -> ReleaseOutcome
}

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
}

/// Produces evidence inside the TEE.
public protocol Attester: Sendable {
    var tee: TEEType { get }
    /// Evidence binding 64 bytes of report data.
    func evidence(reportData: Data, now: Date) throws -> Evidence
}

extension MockTEE: Attester {
    public var tee: TEEType { .mock }
    public func evidence(reportData: Data, now: Date) throws -> Evidence {
        try evidence(reportData: reportData, initDataDigest: nil, now: now)
    }
}
