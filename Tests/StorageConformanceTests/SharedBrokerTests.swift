import Attestation
import Crypto
import Foundation
import JOSE
import KBSProtocol
import KeyBroker
import Logging
import ReleasePolicy
import SealgateCore
import StoragePostgres
import Testing

/// Two brokers on one PostgreSQL database, each with its own connection pool and in-memory state: sessions,
/// nonces, tokens, rotation and shredding hold whichever broker a request reaches.
@Suite("Two brokers on one PostgreSQL database", .enabled(if: TestPostgres.present, Comment(rawValue: TestPostgres.absent)))
struct SharedBrokerTests {
    struct Pair {
        let a: KeyBroker
        let b: KeyBroker
        let tee: MockTEE
        let admin: AdminCredential
        let url: String
        let close: @Sendable () async -> Void
    }

    /// Brokers A and B sharing the database, the master key and the token key (as `sealgate broker --database`
    /// arranges through the database); acme and globex have an `internal` KEK.
    static func pair() async throws -> Pair {
        let url = try await TestPostgres.freshDatabase()
        let tee = MockTEE(
            signingKey: P256.Signing.PrivateKey(),
            measurement: MockMeasurement(executableDigest: String(repeating: "aa", count: 48), policyDigest: String(repeating: "bb", count: 32)))
        let values = ReferenceValues(
            sets: [ReferenceValueSet(id: "gateway", tee: .mock, measurements: [tee.measurement.measurement], minSVN: 1)], acceptMockEvidence: true,
            mockSigners: [tee.signingKey.publicKey.pemRepresentation])
        let master = try MasterKey(raw: Data(repeating: 9, count: 32))
        let tokenKey = P256.Signing.PrivateKey()
        var storages: [PostgresStorage] = []
        var brokers: [KeyBroker] = []
        for name in ["a", "b"] {
            let storage = try PostgresStorage(url: url, logger: Logger(label: name))
            storages.append(storage)
            brokers.append(
                KeyBroker(
                    verifiers: [], referenceValues: values, policies: try PolicySet([]), store: try await PostgresBrokerStore(storage: storage),
                    protector: master, tokenKey: tokenKey, tokenTTL: 60, sessions: try await PostgresSessionStore(storage: storage)))
        }
        // As `sealgate broker` starts: the sealed records are begun (by A) and found (by B) before anything is stored.
        for broker in brokers { _ = try await broker.establishStoredRecords(.refuse) }
        for tenant in ["acme", "globex"] {
            try await brokers[0].provision(tenant: TenantID(unchecked: tenant), dataClass: DataClass(unchecked: "internal"))
        }
        let pools = storages
        return Pair(
            a: brokers[0], b: brokers[1], tee: tee, admin: AdminCredential(name: "t", tokenSHA256: "", roles: [.admin], createdAt: Date()), url: url,
            close: { for storage in pools { await storage.close() } })
    }

    static func evidence(_ tee: MockTEE, nonce: String, key: P256.KeyAgreement.PrivateKey) throws -> AttestRequest {
        let runtime = RuntimeData(nonce: nonce, teePublicKey: .ec(key.publicKey))
        return AttestRequest(runtimeData: runtime, evidence: try tee.evidence(reportData: runtime.reportData, now: Date()))
    }

    static func reason(_ outcome: AttestOutcome) -> BrokerReason? {
        if case .denied(let denial) = outcome { return denial.reason }
        return nil
    }

    static func releasedVersions(_ outcome: ReleaseOutcome, key: P256.KeyAgreement.PrivateKey) throws -> [Int]? {
        guard case .released(let jwe, _, _) = outcome else { return nil }
        return try JSONDecoder().decode(KEKRelease.self, from: try JWE.decrypt(jwe, with: .ec(key))).versions.map(\.version)
    }

    @Test("A nonce issued by one broker is consumed once across both: of many concurrent attests at A and B exactly one wins")
    func nonceSingleUse() async throws {
        let p = try await Self.pair()
        defer { Task { await p.close() } }
        let challenge = try await p.a.auth(version: "0.1.0", tee: .mock).get()
        let key = P256.KeyAgreement.PrivateKey()
        let request = try Self.evidence(p.tee, nonce: challenge.nonce, key: key)
        let outcomes = await withTaskGroup(of: AttestOutcome.self) { group in
            for i in 0..<8 {
                let broker = i.isMultiple(of: 2) ? p.a : p.b
                group.addTask { await broker.attest(sessionID: challenge.sessionID, request) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let tokens = outcomes.filter { if case .token = $0 { return true } else { return false } }
        #expect(tokens.count == 1)
        // The others were refused: replayed, or (while the winner stores its attested session) unknown.
        #expect(outcomes.compactMap(Self.reason).allSatisfy { $0 == .nonceReplayed || $0 == .unknownSession })
        #expect(outcomes.compactMap(Self.reason).count == 7)
        // Used at A: refused at B, and the other way round.
        let second = try await p.b.auth(version: "0.1.0", tee: .mock).get()
        let again = try Self.evidence(p.tee, nonce: second.nonce, key: key)
        guard case .token = await p.b.attest(sessionID: second.sessionID, again) else {
            Issue.record("attest at the issuing broker refused")
            return
        }
        #expect(Self.reason(await p.a.attest(sessionID: second.sessionID, again)) == .nonceReplayed)
        #expect(Self.reason(await p.a.attest(sessionID: "no-such-session", again)) == .unknownSession)
    }

    @Test("A session challenged at A attests at B; its cookie and its token release at either broker")
    func sessionsAndTokens() async throws {
        let p = try await Self.pair()
        defer { Task { await p.close() } }
        let challenge = try await p.a.auth(version: "0.1.0", tee: .mock).get()
        let key = P256.KeyAgreement.PrivateKey()
        guard case .token(let token, _) = await p.b.attest(sessionID: challenge.sessionID, try Self.evidence(p.tee, nonce: challenge.nonce, key: key))
        else {
            Issue.record("attest at the other broker refused")
            return
        }
        for broker in [p.a, p.b] {
            #expect(try Self.releasedVersions(await broker.resource(.token(token), path: "acme/kek/internal"), key: key) == [1])
            #expect(try Self.releasedVersions(await broker.resource(.session(challenge.sessionID), path: "acme/kek/internal"), key: key) == [1])
            #expect(await broker.sessionTEE(challenge.sessionID) == .mock)
        }
    }

    @Test("Rotation at A is released by B; shredding at B stops releases at A")
    func rotationAndShredding() async throws {
        let p = try await Self.pair()
        defer { Task { await p.close() } }
        let challenge = try await p.a.auth(version: "0.1.0", tee: .mock).get()
        let key = P256.KeyAgreement.PrivateKey()
        guard case .token(let token, _) = await p.a.attest(sessionID: challenge.sessionID, try Self.evidence(p.tee, nonce: challenge.nonce, key: key))
        else {
            Issue.record("attest refused")
            return
        }
        #expect(try await p.a.rotate(tenant: "acme", dataClass: "internal", by: p.admin).get().version == 2)
        #expect(try Self.releasedVersions(await p.b.resource(.token(token), path: "acme/kek/internal"), key: key) == [1, 2])
        #expect(try await p.b.shred(tenant: "acme", by: p.admin).get() == 2)
        guard case .denied(let denial) = await p.a.resource(.token(token), path: "acme/kek/internal") else {
            Issue.record("a shredded tenant's KEK was released")
            return
        }
        #expect(denial.reason == .tenantShredded)
        #expect(try Self.releasedVersions(await p.a.resource(.token(token), path: "globex/kek/internal"), key: key) == [1])
    }

    @Test("Sealed records in PostgreSQL: credentials created at A and B at once are all kept; a row inserted into broker_credentials is no credential")
    func sealedRecordsShared() async throws {
        let p = try await Self.pair()
        defer { Task { await p.close() } }
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<12 {
                let broker = i.isMultiple(of: 2) ? p.a : p.b
                group.addTask { try await broker.createCredential(name: "admin-\(i)", roles: [.reader], by: p.admin).get() }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(tokens.count == 12)
        for token in tokens {
            #expect(try await p.a.authenticate(token).get().roles == [.reader])
            #expect(try await p.b.authenticate(token).get().roles == [.reader])
        }
        let storage = try PostgresStorage(url: p.url, logger: Logger(label: "writer"))
        defer { Task { await storage.close() } }
        let raw = try await PostgresBrokerStore(storage: storage)
        let forged = "sgk_forged"
        try await raw.insertCredential(
            AdminCredential(name: "intruder", tokenSHA256: Hex.encode(SHA256.hash(data: Data(forged.utf8))), roles: [.admin], createdAt: Date()))
        guard case .failure(let denial) = await p.b.authenticate(forged) else {
            Issue.record("a credential row inserted into the table authenticated")
            return
        }
        #expect(denial.reason == .adminUnauthenticated)
    }
}
