import Foundation
import Gateway
import SealgateCore
import Synchronization
import Testing

/// A clock that only moves when a test moves it.
final class ManualClock: Sendable {
    private let date = Mutex(Date())
    var now: Date { date.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { date.withLock { $0 += seconds } }
}

/// Issue #12, defect 7: during a broker outage every route gave `broker_unavailable` except in the window where the
/// lease had run out while its renewal still waited for the unreachable broker (its connection retries outlast the
/// lease's last third): then every route said `key_lease_unavailable` for a while.
@Suite("Lease lapse: one reason for one cause")
struct LeaseLapseTests {
    @Test("A lease that runs out before its renewal answers is broker_unavailable, as a renewal that failed is")
    func lapsedLease() async throws {
        let clock = ManualClock()
        let harness = try await Harness.make(now: { clock.now })
        defer { Task { await harness.close() } }
        #expect(await harness.gateway.keyRing.noLeaseReason() == .keyLeaseUnavailable, "before the first lease: none held yet")
        #expect(await harness.lease())
        #expect(await harness.gateway.keyRing.isReady())
        clock.advance(301)
        #expect(!(await harness.gateway.keyRing.isReady()))
        #expect(await harness.gateway.keyRing.noLeaseReason() == .brokerUnavailable)
        // Still so once a request needing keys has found the lease expired and dropped it.
        #expect(await harness.retrieved("anything") == nil)
        #expect(await harness.gateway.keyRing.noLeaseReason() == .brokerUnavailable)
    }
}
