import Crypto
import Foundation
import SealgateCore
import Synchronization

/// Per-tenant values derived from the leased tenant secret (`<tenant>/secret/gateway-salt`) — the HKDF keys of audit
/// digests, question digests and redaction hash tokens, and each tenant's redactor built around its token key — kept
/// across requests instead of being derived (an HKDF per digest, three per answer) and built (a `RedactionEngine`) per
/// request.
///
/// The same rules as ``DEKCache``: an entry belongs to the lease epoch it was derived in and is served only within
/// it, and only while the secret it was derived from is still the leased one (compared by value, so a secret replaced
/// under the same name is never answered with keys of the old one). ``clear(below:)`` runs with every change of the
/// key set (a renewal that lost or changed a secret, crypto-shredding, a dropped lease): nothing derived from a
/// secret outlives it in memory. Bounded: one entry per configured tenant and use.
final class DerivedKeyCache: Sendable {
    struct Key: Hashable, Sendable {
        let tenant: TenantID
        let use: String
    }

    private struct Entry {
        let epoch: Int
        let source: Data
        let key: SymmetricKey
    }

    private struct Redactor {
        let epoch: Int
        let tokenKey: Data?
        let redactor: any OutputRedactor
    }

    private struct State {
        /// Epochs below this were cleared away: nothing of theirs is served or stored again.
        var floor = Int.min
        var keys: [Key: Entry] = [:]
        var redactors: [TenantID: Redactor] = [:]
    }

    private let state = Mutex(State())
    /// The tenants whose values are kept (the configured ones); others are derived on every call.
    let tenants: Set<TenantID>

    init(tenants: some Sequence<TenantID>) {
        self.tenants = Set(tenants)
    }

    /// The HKDF-SHA256 key for `use` from `secret`, leased in `epoch`: the cached one when it was derived from the
    /// same secret in the same epoch, else derived now (and kept, unless the epoch was cleared meanwhile).
    func key(tenant: TenantID, use: String, secret: Data, epoch: Int) -> SymmetricKey {
        let slot = Key(tenant: tenant, use: use)
        if let hit = state.withLock({ $0.keys[slot] }), hit.epoch == epoch, hit.source == secret { return hit.key }
        let derived = Self.derive(secret, use: use)
        guard tenants.contains(tenant) else { return derived }
        state.withLock { state in
            guard epoch >= state.floor else { return }
            state.keys[slot] = Entry(epoch: epoch, source: secret, key: derived)
        }
        return derived
    }

    /// HKDF-SHA256 of the tenant secret, `info` naming its use (the one derivation, cached or not).
    static func derive(_ secret: Data, use: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret), salt: Data("sealgate-tenant-secret-v2".utf8), info: Data(use.utf8),
            outputByteCount: 32)
    }

    /// The tenant's redactor for `tokenKey` in `epoch`: the cached one when it was built with the same token key in
    /// the same epoch, else `build()` (kept unless the epoch was cleared meanwhile).
    func redactor(tenant: TenantID, tokenKey: Data?, epoch: Int, build: () -> any OutputRedactor) -> any OutputRedactor {
        if let hit = state.withLock({ $0.redactors[tenant] }), hit.epoch == epoch, hit.tokenKey == tokenKey { return hit.redactor }
        let built = build()
        guard tenants.contains(tenant) else { return built }
        state.withLock { state in
            guard epoch >= state.floor else { return }
            state.redactors[tenant] = Redactor(epoch: epoch, tokenKey: tokenKey, redactor: built)
        }
        return built
    }

    /// Drops every derived key and redactor, and refuses epochs below `current` from now on.
    func clear(below current: Int) {
        state.withLock { state in
            state.keys.removeAll()
            state.redactors.removeAll()
            state.floor = max(state.floor, current)
        }
    }

    /// How many derived keys and redactors are held.
    var count: (keys: Int, redactors: Int) { state.withLock { ($0.keys.count, $0.redactors.count) } }
}
