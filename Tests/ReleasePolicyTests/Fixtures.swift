import Foundation
import ReleasePolicy

@testable import Attestation

/// Attestation results and requests for policy tests.
enum Fixtures {
    static func result(
        status: AppraisalStatus = .affirming, tee: TEEType = .snp, referenceSet: String? = "snp-prod", debug: Bool = false,
        svn: Int = 5, measurement: String = String(repeating: "ab", count: 48), failures: [AttestationReason] = [],
        hardware: Int = 2
    ) -> AttestationResult {
        AttestationResult(
            status: status, tee: tee,
            trustworthiness: TrustworthinessVector(instanceIdentity: 2, configuration: 2, executables: 2, hardware: hardware),
            referenceValueSet: referenceSet, evidenceDigest: "sha-256:" + String(repeating: "0", count: 64),
            measurement: measurement, debug: debug, svn: svn, failures: failures.map { AttestationFailure($0, "test") },
            issuedAt: 1_700_000_000)
    }

    static func request(_ result: AttestationResult = result(), _ path: String = "acme/kek/restricted") -> ReleaseRequest {
        ReleaseRequest(result: result, resource: ResourceRef(path: path) ?? ResourceRef(repository: "x", type: "x", tag: "x"))
    }

    /// The policy of the format's example.
    static let exampleJSON = """
        {"id": "acme-restricted-hardware", "description": "restricted KEK to hardware TEEs",
         "applies_to": {"tenant": "acme", "data_class": "restricted", "resource_type": "kek"},
         "rule": {"allOf": [
            {"field": "status", "equals": "affirming", "reason": "status_not_accepted"},
            {"not": {"field": "debug", "equals": true}},
            {"anyOf": [{"field": "tee", "in": ["snp", "tdx"]}, {"field": "reference_set", "equals": "nitro-prod"}], "name": "hardware-tee"},
            {"field": "svn", ">=": 3}, {"field": "measurement", "exists": true}]}}
        """

    static func example() throws -> ReleasePolicyDocument {
        try JSONDecoder().decode(ReleasePolicyDocument.self, from: Data(exampleJSON.utf8))
    }

    /// A one-condition policy applying to everything.
    static func single(_ node: PolicyNode, id: String = "p") -> ReleasePolicyDocument {
        ReleasePolicyDocument(id: id, rule: node)
    }

    static let strictFallback = ReleasePolicyDocument.brokerDefault(allowMockEvidence: false)

    /// Evaluates one policy alone.
    static func decide(_ policy: ReleasePolicyDocument, _ request: ReleaseRequest = request()) throws -> PolicyDecision {
        try PolicySet([policy]).evaluate(request, fallback: strictFallback)
    }

    /// Decodes policies with the loader, returning its problems (empty when it accepted them).
    static func problems(_ json: String) -> [String] {
        do {
            _ = try ReleasePolicyLoader.decode(Data(json.utf8))
            return []
        } catch let error as ReleasePolicyError {
            return error.problems
        } catch {
            return ["unexpected \(error)"]
        }
    }
}
