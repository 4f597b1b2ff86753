import Foundation
import KBSProtocol
import KeyLease

/// Model keys from the broker through a ``LeaseManager``: a fresh attestation and one release decision per load
/// (audited and counted by the broker, reported through the manager's `onEvent`).
public struct LeaseModelKeySource: ModelKeySource {
    public let leases: LeaseManager

    public init(leases: LeaseManager) { self.leases = leases }

    public func release(_ resource: ModelKeyResource) async -> Result<Data, ModelLoadError> {
        switch await leases.release(resource.description) {
        case .success(let plain): return .success(plain)
        case .failure(let decision):
            return .failure(ModelLoadError(.keyDenied, "the broker refused \(resource): \(decision.reason.rawValue) (rule \(decision.rule))"))
        }
    }
}
