// Release policies: every input goes through the strict loader; what loads is put in a PolicySet, evaluated over
// fixed attestation results and resources (a decision is a value, never a throw) and encoded back to JSON.
import Attestation
import Foundation
import FuzzSupport
import ReleasePolicy

/// Attestation results covering every field a condition can read (decoded: the memberwise init is internal).
let resultsJSON = [
    #"{"status":"affirming","tee":"snp","trustworthiness":{"instance-identity":2,"configuration":2,"executables":2,"hardware":2},"reference_value_set":"snp-prod","evidence_digest":"sha-256:00","measurement":"abab","debug":false,"svn":5,"failures":[],"iat":1700000000}"#,
    #"{"status":"contraindicated","tee":"mock","trustworthiness":{"instance-identity":96,"configuration":96,"executables":33,"hardware":97},"evidence_digest":"sha-256:11","measurement":"","debug":true,"svn":0,"failures":[{"reason":"debug_enabled","detail":"x"}],"iat":0}"#,
]

@main
enum FuzzReleasePolicy {
    static func main() {
        let results = resultsJSON.compactMap { try? JSONDecoder().decode(AttestationResult.self, from: Data($0.utf8)) }
        if results.count != resultsJSON.count {
            Fuzz.log("FuzzReleasePolicy: only \(results.count) fixed results decode; evaluation is partly skipped")
        }
        let resources = ["acme/kek/restricted", "acme/dek/public", "other/kek/x"].compactMap(ResourceRef.init(path:))
        let fallback = ReleasePolicyDocument.brokerDefault(allowMockEvidence: false)
        let typed: (any Error) -> Bool = { $0 is ReleasePolicyError }

        Fuzz.run("FuzzReleasePolicy") { data in
            guard
                let documents = Fuzz.typed(
                    "ReleasePolicyLoader.decode", typed, { try ReleasePolicyLoader.decode(data) })
            else { return }
            _ = try? JSONEncoder().encode(documents)
            guard let set = Fuzz.typed("PolicySet.init", typed, { try PolicySet(documents) }) else { return }
            for result in results {
                for resource in resources {
                    let decision = set.evaluate(ReleaseRequest(result: result, resource: resource), fallback: fallback)
                    _ = decision.explanation
                }
            }
        }
    }
}
