import Crypto
import Foundation
import Redaction
import SealgateConfig
import SealgateCore

/// The redactors of `sealgate.yaml`: built-in and configured profiles, each tenant's dictionaries and patterns,
/// hash tokens keyed per tenant. Built once at start-up so a bad pattern stops the gateway with a clear error.
struct ConfiguredRedaction: RedactorFactory {
    let profiles: [RedactionProfile]
    let extras: [TenantID: [any Detector]]
    let holdback: Int

    /// - Throws: ``ConfigError`` naming the key path and the pattern when a tenant pattern does not compile.
    init(_ settings: RedactionSettings) throws {
        var profiles = RedactionEngine.builtInProfiles
        for profile in settings.profiles {
            var actions: [String: RedactionAction] = [:]
            for (label, action) in profile.actions {
                switch action {
                case "mask": actions[label] = .mask
                case "partial_mask": actions[label] = .partialMask(keepLast: 4)
                case "hash_token": actions[label] = .hashToken
                case "drop": actions[label] = .drop
                default: actions[label] = .mask
                }
            }
            profiles.append(RedactionProfile(name: profile.name, actions: actions))
        }
        var extras: [TenantID: [any Detector]] = [:]
        var issues: [ConfigIssue] = []
        let known = Set(RedactionEngine.builtInDetectors.map(\.label))
            .union(settings.tenants.flatMap { $0.dictionaries.map(\.label) + $0.patterns.map(\.label) })
        for (i, profile) in settings.profiles.enumerated() {
            for label in profile.actions.keys.sorted() where !known.contains(label) {
                issues.append(ConfigIssue(path: "redaction.profiles[\(i)].actions", line: nil, message: "unknown label \(label): it would redact nothing (known: \(known.sorted().joined(separator: ", ")))"))
            }
        }
        for (i, tenant) in settings.tenants.enumerated() {
            var detectors: [any Detector] = tenant.dictionaries.map { CustomDictionaryDetector(label: $0.label, terms: $0.terms) }
            for (j, pattern) in tenant.patterns.enumerated() {
                do {
                    detectors.append(try PatternDetector(label: pattern.label, pattern: pattern.pattern))
                } catch {
                    issues.append(ConfigIssue(path: "redaction.tenants[\(i)].patterns[\(j)].pattern", line: nil, message: "\(error)"))
                }
            }
            extras[tenant.tenant, default: []] += detectors
        }
        guard issues.isEmpty else { throw ConfigError(issues) }
        self.profiles = profiles
        self.extras = extras
        self.holdback = settings.holdback
    }

    func hasProfile(_ name: String) -> Bool { profiles.contains { $0.name == name } }

    func redactor(tenant: TenantID, tokenKey: Data?) -> any OutputRedactor { engine(tenant: tenant, tokenKey: tokenKey) }

    /// The tenant's engine (built-in detectors plus the tenant's own, every configured profile).
    func engine(tenant: TenantID?, tokenKey: Data?) -> RedactionEngine {
        let tokenizer = tokenKey.map { raw -> any RedactionTokenizer in
            let key = SymmetricKey(data: raw)
            return ClosureTokenizer { Array(HMAC<SHA256>.authenticationCode(for: $0, using: key)) }
        }
        return RedactionEngine(
            detectors: RedactionEngine.builtInDetectors, extraDetectors: tenant.flatMap { extras[$0] } ?? [], profiles: profiles,
            tokenizer: tokenizer, holdback: holdback)
    }
}
