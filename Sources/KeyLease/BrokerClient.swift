import Attestation
import Foundation
import KBSProtocol

/// Produces evidence inside the TEE.
public protocol Attester: Sendable {
    var tee: TEEType { get }
    /// Evidence binding 64 bytes of report data.
    func evidence(reportData: Data, now: Date) throws -> Evidence
}

extension MockTEE: Attester {
    public var tee: TEEType { .mock }
    public func evidence(reportData: Data, now: Date) throws -> Evidence {
        try evidence(reportData: reportData, initDataDigest: initDataDigest, now: now)
    }
}
