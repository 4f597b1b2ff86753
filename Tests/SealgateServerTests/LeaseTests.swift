import Attestation
import Foundation
import HummingbirdTesting
import Testing

@testable import SealgateServer

@Suite("No key lease, no answer")
struct LeaseTests {
    @Test("Evidence whose measurement is not a reference value gets no keys: not ready, queries refused with 503")
    func beforeLease() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var options = fixture.options()
        options.referenceValues = ReferenceValues(
            sets: [ReferenceValueSet(id: "expected-build", tee: .mock, measurements: [String(repeating: "ab", count: 48)])],
            acceptMockEvidence: true)
        try await withLiveGateway(fixture, options: options) { _, client in
            let ready = try await client.send(.get, "/readyz", key: nil)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.problemType == "urn:sealgate:problem:attestation_denied")
            let query = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("anything"))
            #expect(query.status == .serviceUnavailable)
            #expect(query.problemType == "urn:sealgate:problem:attestation_denied")
            #expect(query.auditIndex != nil)
            let ingest = try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(text: "x"))
            #expect(ingest.status == .serviceUnavailable)
            let metrics = try await client.send(.get, "/metrics", key: nil)
            #expect(metrics.text.contains(#"sealgate_key_release_total{tenant="-",resource_type="attestation",decision="denied",reason="attestation_contraindicated",tee="mock"}"#))
            #expect(metrics.text.contains(#"sealgate_attestation_total{tee="mock",status="contraindicated",reason="attestation_contraindicated"}"#))
            #expect(metrics.text.contains(#"sealgate_key_lease_valid{tee="mock"} 0"#))
        }
        let leaseRecords = try fixture.auditRecords().compactMap { $0["record"] as? [String: Any] }.filter { $0["kind"] as? String == "key_lease" }
        #expect(leaseRecords.first?["outcome"] as? String == "denied")
        #expect(leaseRecords.first?["attestationStatus"] as? String == "contraindicated")
        // The refusal names its cause and the command that fixes it, in the log and in the security event.
        #expect(fixture.logs.all.contains(#""attestation.causes": measurement_unknown"#))
        #expect(fixture.logs.all.contains("sealgate measure --reference-values"))
        let events = try String(contentsOfFile: fixture.dir + "/security-events.jsonl", encoding: .utf8)
        let denied = events.split(separator: "\n").first { $0.contains("attestation.result") && $0.contains("\"denied\"") }
        #expect(denied?.contains("\"causes\":\"measurement_unknown\"") == true, "\(events)")
        #expect(denied?.contains("sealgate keys put-reference-values") == true)
    }

    @Test("Mock evidence under a production policy gets no keys")
    func mockRefusedInProduction() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var options = fixture.options()
        let measurement = try Sealgate.measurement(try Sealgate.configuration(options), executablePath: options.executablePath)
        let enrolled = ReferenceValueSet(id: "prod", tee: .mock, measurements: [measurement.measurement])
        // Control: the same enrolled measurement under a policy that accepts mock evidence gets its keys, so the
        // refusal below is the policy's and not some other start-up failure.
        options.referenceValues = ReferenceValues(sets: [enrolled], acceptMockEvidence: true)
        try await withLiveGateway(fixture, options: options) { _, client in
            let ready = try await client.send(.get, "/readyz", key: nil)
            #expect(ready.status == .ok)
        }
        options.referenceValues = ReferenceValues(sets: [enrolled], acceptMockEvidence: false)
        try await withLiveGateway(fixture, options: options) { _, client in
            let ready = try await client.send(.get, "/readyz", key: nil)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.problemType == "urn:sealgate:problem:attestation_denied")
            let metrics = try await client.send(.get, "/metrics", key: nil)
            #expect(metrics.text.contains(#"sealgate_attestation_total{tee="mock",status="contraindicated",reason="attestation_contraindicated"}"#))
        }
        let refused = try fixture.auditRecords().compactMap { $0["record"] as? [String: Any] }.filter {
            $0["kind"] as? String == "key_lease" && $0["outcome"] as? String == "denied"
        }
        #expect(refused.first?["reason"] as? String == "attestation_contraindicated")
        #expect(refused.first?["attestationStatus"] as? String == "contraindicated")
    }

    @Test("When the lease expires without renewal, keys and indexes are dropped and queries are refused")
    func afterExpiry() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture, options: fixture.options(leaseSeconds: 60)) { instance, client in
            try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(text: "The gym is open until ten."))
            #expect(try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When does the gym close?")).status == .ok)
            fixture.clock.advance(61)
            #expect(try await client.send(.get, "/readyz", key: nil).status == .serviceUnavailable)
            let query = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When does the gym close?"))
            #expect(query.status == .serviceUnavailable)
            #expect(query.problemType == "urn:sealgate:problem:key_lease_unavailable")
            #expect(await instance.leases.isValid == false)
            // Dropping the lease forgets the plaintext-derived index too.
            await instance.leases.drop()
            #expect(await instance.gateway.index.count(tenant: .init(unchecked: "acme")) == 0)
            // Renewal brings the gateway back.
            #expect(await instance.leases.acquire(resources: instance.gateway.keyRing.resources))
            #expect(try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When does the gym close?")).status == .ok)
        }
    }
}
