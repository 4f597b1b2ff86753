import Attestation
import Foundation
import KeyBroker

/// How the gateway reaches a key broker: in-process for the embedded default, over HTTP for a remote one.
public protocol BrokerClient: Sendable {
    func auth(tee: TEEType) async throws -> AuthChallenge
    func attest(sessionID: String, runtimeData: RuntimeData, evidence: Evidence) async throws -> AttestOutcome
    func release(token: String, resource: ResourcePath) async throws -> ReleaseOutcome
}

/// A broker running in the same process.
public struct InProcessBrokerClient: BrokerClient {
    let broker: KeyBroker
    public init(broker: KeyBroker) { self.broker = broker }
    public func auth(tee: TEEType) async throws -> AuthChallenge { await broker.auth(tee: tee) }
    public func attest(sessionID: String, runtimeData: RuntimeData, evidence: Evidence) async throws -> AttestOutcome {
        await broker.attest(sessionID: sessionID, runtimeData: runtimeData, evidence: evidence)
    }
    public func release(token: String, resource: ResourcePath) async throws -> ReleaseOutcome {
        await broker.release(token: token, resource: resource)
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
