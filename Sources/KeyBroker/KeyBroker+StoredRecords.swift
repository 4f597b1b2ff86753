import Attestation
import Crypto
import Foundation
import SealgateCore

/// What a broker does with records it finds in clear in a database none of whose records is sealed yet (one an
/// earlier release wrote). In a database that holds a sealed record, a record in clear is always refused.
public enum UnsealedRecords: Sendable, Equatable {
    /// Refuse to start, describing what was found and the digest that adopts exactly that.
    case refuse
    /// Seal what was found, if it is still exactly what the refusal described (`--adopt-unsealed-records DIGEST`):
    /// a flag left in a unit file adopts nothing a database writer changed since.
    case adopt(digest: String)
    /// Seal whatever is found (the gateway's embedded broker: its database and master key share a directory, and it
    /// takes its policies and reference values from the configuration, never from the store).
    case adoptAny
}

/// What ``KeyBroker/establishStoredRecords(_:)`` found and did, for the start-up log.
public struct StoredRecordsReport: Sendable, Equatable {
    /// Records found in clear and sealed as found.
    public var adopted: [String] = []
    /// Pending state found in clear and not carried over (proposals, break-glass overrides).
    public var dropped: [String] = []
    /// Release-controlling records created empty.
    public var created: [String] = []
    /// An earlier release's table rows left unread because the database's records are sealed (`policies: 2`, say).
    public var ignored: [String] = []

    /// An empty report.
    public init() {}
}

extension KeyBroker {
    /// Every setting the broker keeps; each is stored sealed (``SealedBrokerStore``).
    static var sealedSettings: [String] {
        SealedBrokerStore.trustRecords + [generationSetting, proposalsSetting, breakGlassSetting, revokedSetting, caSetting, enrolmentSetting]
    }

    /// Settings that hold pending state: not carried over from records in clear (a planted approval or override
    /// could not be told from a real one), but begun empty.
    static var transientSettings: Set<String> { [proposalsSetting, breakGlassSetting] }

    /// Checks every release-controlling record of the store before the broker decides anything.
    ///
    /// - A database with a sealed record: every record must open under the master key (a changed one, one copied
    ///   under another name, or one sealed under another key refuses start); a missing policies / reference-values /
    ///   credentials record refuses start (restore from a backup); a setting in clear refuses start unless the
    ///   digest of exactly those settings is given (completing an adoption that stopped half-way); rows in an
    ///   earlier release's `policies` / `credentials` tables are not read (counted in ``StoredRecordsReport/ignored``).
    /// - A database with no record, tenant or key material at all: the three records are created empty.
    /// - A database an earlier release wrote (nothing sealed, an admin credential in its table): refused, naming
    ///   what would be adopted and its digest, unless `unsealed` adopts it (``UnsealedRecords``). Without an admin
    ///   credential it is refused whatever `unsealed` says, except `adoptAny`.
    /// From then on this broker refuses a release-controlling record that disappears.
    /// - Throws: ``KeyBrokerError`` `storage_unavailable` (or `conflict` when another broker adopted meanwhile).
    public func establishStoredRecords(_ unsealed: UnsealedRecords) async throws -> StoredRecordsReport {
        var report = StoredRecordsReport()
        let base = store.base
        var inClear: [(name: String, stored: Data)] = []
        var present = Set<String>()
        for name in Self.sealedSettings {
            guard let stored = try await base.setting(name) else { continue }
            if stored.starts(with: SealedBrokerStore.marker) {
                _ = try store.open(name, stored)
                present.insert(name)
            } else {
                inClear.append((name, stored))
            }
        }
        let legacyPolicies = try await base.policies()
        let legacyCredentials = try await base.credentials()
        let legacyValues = try await base.referenceValues()

        if let planted = inClear.first(where: { SealedBrokerStore.trustRecords.contains($0.name) }) {
            // No release wrote these names in clear.
            throw KeyBrokerError(.storageUnavailable, "the record \(planted.name) is in clear: written by hand or by whoever can write the database")
        }
        if !present.isEmpty {
            // Sealed before: a missing record was removed; a setting in clear is either the rest of an adoption
            // that stopped half-way (its trust records are sealed first) or a database writer's.
            let missing = SealedBrokerStore.trustRecords.filter { !present.contains($0) }
            guard missing.isEmpty else {
                throw KeyBrokerError(
                    .storageUnavailable,
                    "the sealed records \(missing.joined(separator: ", ")) are missing from a database whose records are sealed: "
                        + "they were removed; restore the database from a backup")
            }
            if !inClear.isEmpty {
                let candidates = try Self.adoptionCandidates(inClear: inClear, policies: [], credentials: [], values: nil, createdEmpty: [])
                guard case .adopt(let digest) = unsealed, digest.lowercased() == candidates.digest else {
                    throw KeyBrokerError(
                        .storageUnavailable,
                        "records in clear in a database whose records are sealed (\(candidates.description)): written by hand or by "
                            + "whoever can write the database — restore them from a backup — or left by an adoption that stopped "
                            + "half-way, which --adopt-unsealed-records \(candidates.digest) completes")
                }
                try await zeroRetiredMaterial()
                try await adopt(inClear, into: &report)
            }
            if !legacyPolicies.isEmpty { report.ignored.append("policies: \(legacyPolicies.count)") }
            if !legacyCredentials.isEmpty { report.ignored.append("credentials: \(legacyCredentials.count)") }
            for name in present.union(report.adopted + report.dropped) { store.markEstablished(name) }
            return report
        }

        let noTenants = try await base.tenants().isEmpty
        let noKeys = try await !base.holdsKeyMaterial()
        let isNew = inClear.isEmpty && legacyPolicies.isEmpty && legacyCredentials.isEmpty && legacyValues == nil && noTenants && noKeys
        if !isNew {
            if legacyCredentials.isEmpty && unsealed != .adoptAny {
                // A standalone broker always stored an admin credential: a database without one had its records
                // removed (and beginning them empty would drop every policy and admin), whatever else it holds.
                throw KeyBrokerError(
                    .storageUnavailable,
                    "the broker database holds tenants, keys or settings but no admin credential, sealed or not: its records "
                        + "were removed; restore the database from a backup")
            }
            let legacy: [(String, Data?)] = [
                (SealedBrokerStore.policiesRecord, legacyPolicies.isEmpty ? nil : try Self.canonical(Dictionary(legacyPolicies.map { ($0.id, $0.json) }, uniquingKeysWith: { _, last in last }))),
                (SealedBrokerStore.credentialsRecord, legacyCredentials.isEmpty ? nil : try Self.canonical(legacyCredentials.map(CredentialRecord.init).sorted { $0.name < $1.name })),
                (SealedBrokerStore.referenceValuesRecord, try legacyValues.map { try Self.canonical(ReferenceValuesRecord(json: $0)) }),
            ]
            let candidates = try Self.adoptionCandidates(
                inClear: inClear, policies: legacyPolicies, credentials: legacyCredentials, values: legacyValues,
                createdEmpty: legacy.filter { $0.1 == nil }.map(\.0))
            switch unsealed {
            case .adoptAny: break
            case .adopt(let digest) where digest.lowercased() == candidates.digest: break
            case .adopt:
                throw KeyBrokerError(
                    .storageUnavailable,
                    "the records in clear are not those the digest given to --adopt-unsealed-records describes (now: "
                        + "\(candidates.description); digest \(candidates.digest))")
            case .refuse:
                throw KeyBrokerError(
                    .storageUnavailable,
                    "the broker database holds records in clear, written by a release before records were sealed: \(candidates.description). "
                        + "If that is what you stored, stop every broker of the earlier release and start once with --adopt-unsealed-records \(candidates.digest)")
            }
            // Before anything is sealed, so an adoption that stops half-way has done it.
            try await zeroRetiredMaterial()
            // The trust records first: an adoption that stops after them is completed by the same flag (above).
            for case (let record, let value?) in legacy {
                guard try await store.replaceSetting(record, value, ifCurrent: nil) else {
                    throw KeyBrokerError(.conflict, "the record \(record) was created while it was adopted (another broker?); start again")
                }
                report.adopted.append(record)
            }
            // The earlier release's rows stay in its tables, unread from now on: a broker of that release still
            // running during an upgrade keeps deciding under them instead of under none.
        }
        for record in SealedBrokerStore.trustRecords where !report.adopted.contains(record) {
            // Another broker starting on the same new database may create it first; it is then read below.
            if try await store.replaceSetting(record, try SealedBrokerStore.emptyRecord(record), ifCurrent: nil) { report.created.append(record) }
        }
        if !isNew { try await adopt(inClear, into: &report) }
        for record in SealedBrokerStore.trustRecords {
            guard let stored = try await base.setting(record) else { throw KeyBrokerError(.storageUnavailable, "the stored record \(record) is missing") }
            _ = try store.open(record, stored)
            store.markEstablished(record)
        }
        for name in report.adopted + report.dropped { store.markEstablished(name) }
        return report
    }

    /// Zeroes the material of retired KEK versions an earlier release kept (it zeroes at retirement now), so a
    /// database writer who sets such a version `active` again gets a version that does not open, not a release.
    /// Run when an earlier release's database is adopted (it reads every tenant's KEKs), not at every start.
    func zeroRetiredMaterial() async throws {
        for tenant in try await store.tenants() {
            guard let id = TenantID(tenant.id) else { continue }
            for kek in try await store.keks(tenant: id) where kek.state == .retired && !kek.sealedKey.isEmpty {
                try await store.setState(.retired, tenant: id, dataClass: kek.dataClass, version: kek.version)
            }
        }
    }

    /// Seals settings found in clear as found (pending state — proposals, break-glass — begun empty instead), each
    /// by compare-and-swap against what was read, so another broker adopting at the same time is noticed.
    func adopt(_ inClear: [(name: String, stored: Data)], into report: inout StoredRecordsReport) async throws {
        for (name, stored) in inClear {
            let transient = Self.transientSettings.contains(name)
            guard try await store.base.replaceSetting(name, try store.seal(name, transient ? Data("[]".utf8) : stored), ifCurrent: stored) else {
                throw KeyBrokerError(.conflict, "the record \(name) changed while it was adopted (another broker?); start again")
            }
            if transient { report.dropped.append(name) } else { report.adopted.append(name) }
        }
    }

    /// What adopting would take, in words an operator can check — policy ids with the first 8 hex digits of each
    /// body's SHA-256, credential names and roles with the first 8 of their token's SHA-256 (`printf %s "$TOKEN" |
    /// sha256sum`), reference sets, settings, and what would be begun empty — and as one digest over every byte.
    static func adoptionCandidates(
        inClear: [(name: String, stored: Data)], policies: [(id: String, json: Data)], credentials: [AdminCredential], values: Data?,
        createdEmpty: [String]
    ) throws -> (description: String, digest: String) {
        var parts: [String] = []
        var hashed: [String: String] = [:]
        func digest(_ data: Data) -> String { Hex.encode(SHA256.hash(data: data)) }
        if !policies.isEmpty {
            let sorted = policies.sorted { $0.id < $1.id }
            parts.append("policies " + sorted.map { "\($0.id) (body \(digest($0.json).prefix(8)))" }.joined(separator: ", "))
            for policy in policies { hashed["policy:" + policy.id] = digest(policy.json) }
        }
        if !credentials.isEmpty {
            parts.append(
                "admin credentials "
                    + credentials.sorted { $0.name < $1.name }.map {
                        "\($0.name) (\($0.roles.map(\.rawValue).joined(separator: ",")); token \($0.tokenSHA256.prefix(8)))"
                    }.joined(separator: ", "))
            for credential in credentials { hashed["credential:" + credential.name] = digest(try canonical(CredentialRecord(credential))) }
        }
        if !createdEmpty.isEmpty {
            parts.append("begun empty: " + createdEmpty.joined(separator: ", "))
            for record in createdEmpty { hashed["empty:" + record] = "" }
        }
        if let values {
            let decoded = try? JSONDecoder().decode(ReferenceValues.self, from: values)
            let sets = decoded.map { $0.sets.map(\.id).joined(separator: ", ") } ?? "unreadable"
            let mock = decoded.map { "accept_mock_evidence \($0.acceptMockEvidence), \($0.mockSigners.count) mock signer(s)" } ?? ""
            parts.append("reference values (sets \(sets); \(mock))")
            hashed["reference_values"] = digest(values)
        }
        let kept = inClear.filter { !transientSettings.contains($0.name) }.map(\.name)
        let dropped = inClear.filter { transientSettings.contains($0.name) }.map(\.name)
        if !kept.isEmpty { parts.append("settings \(kept.joined(separator: ", "))") }
        if !dropped.isEmpty { parts.append("pending state not carried over: \(dropped.joined(separator: ", "))") }
        for (name, stored) in inClear { hashed["setting:" + name] = digest(stored) }
        return (parts.joined(separator: "; "), digest(try canonical(hashed)))
    }
}
