import ArgumentParser
import Audit

/// `--witness KEY ... [--witness-quorum K]`: the k-of-n witness policy `audit verify` enforces.
struct WitnessPolicyOptions: ParsableArguments {
    /// Parsed witness keys and the quorum.
    struct Policy {
        let witnesses: [CosignatureVerifier]
        let quorum: Int
    }

    @Option(
        name: .customLong("witness"),
        help: "A witness's cosignature/v1 verifier key (`sealgate witness key`; repeatable): require its cosignature on the checkpoint verified against.")
    var witnesses: [String] = []
    @Option(name: .customLong("witness-quorum"), help: "How many of the --witness keys must have cosigned (default: all of them).")
    var quorum: Int?

    func validate() throws {
        if witnesses.isEmpty, quorum != nil { throw ValidationError("--witness-quorum needs --witness keys") }
        if let quorum, !(1...max(1, witnesses.count)).contains(quorum) {
            throw ValidationError("--witness-quorum must be between 1 and the number of --witness keys (\(witnesses.count))")
        }
        _ = try policy()
    }

    /// The policy, or `nil` without `--witness`.
    func policy() throws -> Policy? {
        guard !witnesses.isEmpty else { return nil }
        let keys = try witnesses.map { key in
            do { return try CosignatureVerifier(encoded: key) } catch {
                throw ValidationError("--witness \(key): not a cosignature/v1 verifier key, as `sealgate witness key` prints")
            }
        }
        return Policy(witnesses: keys, quorum: quorum ?? keys.count)
    }

    /// Prints which checkpoint the policy held on.
    func printWitnessed(_ report: AuditVerification, policy: Policy) {
        guard let witnessed = report.witnessed else { return }
        print("witnessed checkpoint: size \(witnessed.size), cosigned by \(report.witnessedBy.joined(separator: ", ")) (\(policy.quorum) of \(policy.witnesses.count) required)")
        if report.entries > witnessed.size { print("\(report.entries - witnessed.size) entries after the witnessed checkpoint are not yet witnessed") }
    }
}
