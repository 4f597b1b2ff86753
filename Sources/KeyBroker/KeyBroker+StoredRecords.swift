import Foundation

/// What ``KeyBroker/establishStoredRecords(adoptUnsealed:)`` found and did, for the start-up log.
public struct StoredRecordsReport: Sendable, Equatable {
    /// Records found in clear and sealed on the operator's word (`--adopt-unsealed-records`).
    public var adopted: [String] = []
    /// Release-controlling records created empty (a new database).
    public var created: [String] = []
    /// An earlier release's table rows left unread because their sealed record exists (`policies: 2`, say).
    public var ignored: [String] = []

    /// An empty report.
    public init() {}
}

extension KeyBroker {
    /// Every setting the broker keeps; each is stored sealed (``SealedBrokerStore``).
    static var sealedSettings: [String] {
        SealedBrokerStore.trustRecords + [generationSetting, proposalsSetting, breakGlassSetting, revokedSetting, caSetting, enrolmentSetting]
    }

    /// Checks every release-controlling record of the store before the broker decides anything:
    /// - a sealed record that does not open under the master key (changed, moved between names, or written under
    ///   another key) refuses start;
    /// - a record in clear — a setting, or a row of an earlier release's `policies` / `credentials` tables or its
    ///   `reference_values` — refuses start unless `adoptUnsealed`, which seals it as found (the operator vouches
    ///   for the database at that moment; an earlier release's rows are then removed from its tables);
    /// - a missing policies, reference-values or credentials record is created empty on a database that holds no
    ///   tenant yet (a new broker); on one that does, it was removed, and start is refused unless `adoptUnsealed`.
    /// From then on this broker refuses a record of these that disappears.
    /// - Throws: ``KeyBrokerError`` `storage_unavailable` naming the records, and what to do.
    public func establishStoredRecords(adoptUnsealed: Bool) async throws -> StoredRecordsReport {
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
        // An earlier release's tables: adopted only where the sealed record does not exist yet.
        let legacyPolicies = try await base.policies()
        let legacyCredentials = try await base.credentials()
        let legacyValues = try await base.referenceValues()
        var legacy: [String: Data] = [:]
        func take(_ record: String, _ count: Int, _ label: String, _ value: () throws -> Data) throws {
            guard count > 0 else { return }
            if present.contains(record) { report.ignored.append("\(label): \(count)") } else { legacy[record] = try value() }
        }
        try take(SealedBrokerStore.policiesRecord, legacyPolicies.count, "policies") {
            try Self.canonical(Dictionary(legacyPolicies.map { ($0.id, $0.json) }, uniquingKeysWith: { _, last in last }))
        }
        try take(SealedBrokerStore.credentialsRecord, legacyCredentials.count, "credentials") {
            try Self.canonical(legacyCredentials.map(CredentialRecord.init).sorted { $0.name < $1.name })
        }
        // (The earlier release's reference-values row is kept — the store has no call to remove it — and is not
        // reported: after adoption it is simply the value adopted.)
        if let legacyValues, !present.contains(SealedBrokerStore.referenceValuesRecord) {
            legacy[SealedBrokerStore.referenceValuesRecord] = try Self.canonical(ReferenceValuesRecord(json: legacyValues))
        }
        let clearNames = Set(inClear.map(\.name))
        let missing = SealedBrokerStore.trustRecords.filter { !present.contains($0) && legacy[$0] == nil && !clearNames.contains($0) }
        let hasTenants = try await !base.tenants().isEmpty
        if !adoptUnsealed {
            let unsealed = inClear.map(\.name) + legacy.keys.sorted()
            if !unsealed.isEmpty {
                throw KeyBrokerError(
                    .storageUnavailable,
                    "the broker database holds records in clear (\(unsealed.joined(separator: ", "))), written by a release before records "
                        + "were sealed or by hand; check them (sealgate keys policies / credentials / reference values), then start once "
                        + "with --adopt-unsealed-records")
            }
            if hasTenants && !missing.isEmpty {
                throw KeyBrokerError(
                    .storageUnavailable,
                    "the broker database holds tenants but not the sealed records \(missing.joined(separator: ", ")): they were removed; "
                        + "restore the database, or start once with --adopt-unsealed-records to begin them empty")
            }
        }
        for (name, stored) in inClear {
            // Sealed as found, by compare-and-swap: a value another broker sealed meanwhile is kept.
            _ = try await base.replaceSetting(name, try store.seal(name, stored), ifCurrent: stored)
            report.adopted.append(name)
        }
        for (record, value) in legacy.sorted(by: { $0.key < $1.key }) {
            _ = try await store.replaceSetting(record, value, ifCurrent: nil)
            report.adopted.append(record)
        }
        if legacy[SealedBrokerStore.policiesRecord] != nil { for policy in legacyPolicies { _ = try await base.deletePolicy(id: policy.id) } }
        if legacy[SealedBrokerStore.credentialsRecord] != nil {
            for credential in legacyCredentials { _ = try await base.deleteCredential(name: credential.name) }
        }
        for record in missing {
            let empty = try record == SealedBrokerStore.referenceValuesRecord
                ? Self.canonical(ReferenceValuesRecord(json: nil))
                : record == SealedBrokerStore.policiesRecord ? Self.canonical([String: Data]()) : Self.canonical([CredentialRecord]())
            if try await store.replaceSetting(record, empty, ifCurrent: nil) { report.created.append(record) }
        }
        // Every record (adopted, created, or another broker's) must now open; it is established from here on.
        for record in SealedBrokerStore.trustRecords {
            guard let stored = try await base.setting(record) else {
                throw KeyBrokerError(.storageUnavailable, "the stored record \(record) is missing")
            }
            _ = try store.open(record, stored)
            store.markEstablished(record)
        }
        for name in Self.sealedSettings where present.contains(name) || report.adopted.contains(name) { store.markEstablished(name) }
        return report
    }
}
