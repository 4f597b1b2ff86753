import Attestation
import Foundation
import Gateway
import KBSProtocol
import SealgateCore
import Synchronization
import Testing

/// A clock that only moves when a test moves it.
/// Real time plus the seconds a test skipped: the evidence the lease manager makes with it stays fresh for the
/// broker (which reads the real clock) however long a loaded machine takes to get to the first lease.
final class ManualClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)
    var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }
    func advance(_ seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}

/// Holds `auth` calls while closed, as an unreachable broker holds a renewal for its connection retries.
actor BrokerGate {
    private var closed = false
    private var held: [CheckedContinuation<Void, Never>] = []
    private var arrivals: [CheckedContinuation<Void, Never>] = []

    func close() { closed = true }

    func open() {
        closed = false
        held.forEach { $0.resume() }
        held = []
    }

    func pass() async {
        guard closed else { return }
        arrivals.forEach { $0.resume() }
        arrivals = []
        await withCheckedContinuation { held.append($0) }
    }

    /// Returns once a call is held (or at once if one is).
    func someoneHeld() async {
        if !held.isEmpty { return }
        await withCheckedContinuation { arrivals.append($0) }
    }
}

struct GatedBrokerClient: BrokerClient {
    let base: any BrokerClient
    let gate: BrokerGate

    func auth(tee: TEEType) async throws -> Result<AuthChallenge, ReleaseDecision> {
        await gate.pass()
        return try await base.auth(tee: tee)
    }

    func attest(sessionID: String, _ request: AttestRequest) async throws -> AttestOutcome {
        try await base.attest(sessionID: sessionID, request)
    }

    func resource(token: String, path: String) async throws -> ReleaseOutcome {
        try await base.resource(token: token, path: path)
    }

    func workloadCertificate(token: String, _ request: WorkloadCertificateRequest) async throws -> CertificateOutcome {
        try await base.workloadCertificate(token: token, request)
    }
}

/// Issue #12, defect 7: during a broker outage every route gave `broker_unavailable` except in the window where the
/// lease had run out while its renewal still waited for the unreachable broker (its connection retries outlast the
/// lease's last third): then every route said `key_lease_unavailable` for a while.
@Suite("Lease lapse: one reason for one cause")
struct LeaseLapseTests {
    @Test("A lease that runs out while its renewal waits for the broker is broker_unavailable, as a failed renewal is")
    func lapsedWhileRenewing() async throws {
        let clock = ManualClock()
        let gate = BrokerGate()
        let harness = try await Harness.make(now: { clock.now }, client: { GatedBrokerClient(base: $0, gate: gate) })
        defer { Task { await harness.close() } }
        #expect(await harness.lease())
        clock.advance(301)
        #expect(!(await harness.gateway.keyRing.isReady()))
        #expect(await harness.gateway.keyRing.noLeaseReason() == .keyLeaseUnavailable, "expired, and no renewal under way")
        await gate.close()
        let renewal = Task { await harness.lease() }
        await gate.someoneHeld()
        #expect(await harness.gateway.keyRing.noLeaseReason() == .brokerUnavailable)
        // A request that finds the lease expired (and drops it) says the same.
        #expect(await harness.retrieved("anything") == nil)
        #expect(await harness.gateway.keyRing.noLeaseReason() == .brokerUnavailable)
        await gate.open()
        _ = await renewal.value
    }
}
