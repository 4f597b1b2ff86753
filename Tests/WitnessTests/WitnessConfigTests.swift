import Audit
import Crypto
import Foundation
import SealgateConfig
import SealgateServer
import Testing

/// `audit.witnesses`, `audit.witness_quorum` and `audit.witness_timeout_seconds` in `sealgate.yaml`.
@Suite("Configuration: audit.witnesses")
struct WitnessConfigTests {
    static let key = CosignatureSigner(name: "witness.test/w1", key: Curve25519.Signing.PrivateKey()).verifier.encoded

    static func issues(_ yaml: String) -> [String] {
        do {
            _ = try ConfigLoader.parse(yaml, knownRedactionProfiles: Sealgate.redactionProfiles)
            return []
        } catch let error as ConfigError {
            return error.issues.map(\.path)
        } catch {
            return ["unexpected \(error)"]
        }
    }

    @Test("A witness list with its quorum parses; without witnesses the policy digest ignores the new keys")
    func valid() throws {
        let config = try ConfigLoader.parse(
            "audit:\n  witnesses:\n    - url: http://127.0.0.1:8082\n      key: \(Self.key)\n  witness_quorum: 1\n  witness_timeout_seconds: 2\n",
            knownRedactionProfiles: Sealgate.redactionProfiles)
        #expect(config.audit.witnesses == [AuditWitness(url: "http://127.0.0.1:8082", key: Self.key)])
        #expect(config.audit.witnessQuorum == 1)
        #expect(config.audit.witnessTimeoutSeconds == 2)
        let plain = try ConfigLoader.parse("{}", knownRedactionProfiles: Sealgate.redactionProfiles)
        let encoded = String(decoding: try JSONEncoder().encode(plain.audit), as: UTF8.self)
        #expect(!encoded.contains("witness"))
        #expect(ConfigLoader.policyDigest(config) != ConfigLoader.policyDigest(plain))
    }

    @Test("Bad URLs, keys that are not cosignature/v1 keys, duplicates, impossible quorums and timeouts are reported")
    func invalid() {
        let logKey = NoteSigner(name: "log.test/audit", key: Curve25519.Signing.PrivateKey()).verifier.encoded
        let tampered = Self.key.replacingOccurrences(of: "witness.test/w1+", with: "witness.test/w2+")
        let yaml = """
            audit:
              witnesses:
                - url: ftp://witness
                  key: \(Self.key)
                - url: http://127.0.0.1:1
                  key: \(logKey)
                - url: http://127.0.0.1:2
                  key: \(tampered)
                - url: http://127.0.0.1:3
                  key: \(Self.key)
              witness_quorum: 5
              witness_timeout_seconds: 0
            """
        #expect(
            Self.issues(yaml) == [
                "audit.witnesses[0].url", "audit.witnesses[1].key", "audit.witnesses[2].key", "audit.witnesses[3].key",
                "audit.witness_quorum", "audit.witness_timeout_seconds",
            ])
        #expect(Self.issues("audit:\n  witness_quorum: 1\n") == ["audit.witness_quorum"])
        #expect(Self.issues("audit:\n  witnesses:\n    - url: http://x\n      kee: y\n") == ["audit.witnesses[0].kee"])
    }
}
