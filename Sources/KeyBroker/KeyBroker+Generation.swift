import Attestation
import Foundation
import ReferenceImages
import ReleasePolicy

/// Several brokers on one database (the Kubernetes base runs two) must decide under the same release policies and
/// reference values: a change at one must hold at every other before its next decision, or a tightened policy
/// would keep releasing at the replica that did not receive it. The store is the source of truth; a random token
/// in the setting ``KeyBroker/generationSetting``, written with every change, tells each broker to reload. The
/// same holds for workload enrolments and the workload CA versions, which each broker caches.
extension KeyBroker {
    /// The store setting whose value changes with every change of policies or reference values.
    static let generationSetting = "broker.config_generation"

    /// Records a change of the stored policies, reference values, enrolments or workload CA versions: a new
    /// generation, which every broker on the store picks up before its next decision (this one is current).
    func publishGeneration() async throws {
        let token = Data(Self.randomToken().utf8)
        try await store.putSetting(Self.generationSetting, token)
        loadedGeneration = token
    }

    /// The stored reference values with their image signers verified, if any are stored (start-up and reloads).
    func storedReferenceValues() async throws -> (ReferenceValues, VerifiedImageSigners)? {
        guard let data = try await store.referenceValues() else { return nil }
        let values = try JSONDecoder().decode(ReferenceValues.self, from: data)
        return (values, try ReferenceImages.verify(values, baseDirectory: nil).signers)
    }

    /// Reloads the policies and reference values from the store when another broker changed them. `nil` when this
    /// broker is current (or has reloaded); else the refusal: a decision is never taken on values that may be stale
    /// because the store could not be read, or holds values that no longer load.
    func refreshIfChanged() async -> ReleaseDecision? {
        let current: Data?
        do { current = try await store.setting(Self.generationSetting) } catch { return .deny(.storageUnavailable, "broker.config_generation") }
        guard current != loadedGeneration else { return nil }
        guard configurationFromStore else {
            enrolmentCache = nil
            workloadCAs = nil
            loadedGeneration = current
            return nil
        }
        do {
            var documents: [ReleasePolicyDocument] = []
            for (_, json) in try await store.policies() { documents += try ReleasePolicyLoader.decode(json) }
            let policies = try PolicySet(documents)
            let values = try await storedReferenceValues()
            policySet = policies
            if let (decoded, signers) = values { appraiser = Self.appraiser(decoded, verifiers: verifiers, images: signers) }
            // Read again on next use (the CA versions under their lock, which a reader here does not hold).
            enrolmentCache = nil
            workloadCAs = nil
            loadedGeneration = current
            return nil
        } catch {
            return .deny(.storageUnavailable, "broker.config_reload")
        }
    }
}
