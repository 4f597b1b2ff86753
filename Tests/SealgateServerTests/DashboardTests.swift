import Dashboard
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SealgateCore
import SealgateServer
import SecurityEvents
import Synchronization
import Testing

@Suite("Dashboards")
struct DashboardTests {
    static let auditor = "sg_test_auditor_key_0123456789"

    static func config() -> String {
        testConfiguration() + "\naudit:\n  auditor_api_key_sha256: [\(Gateway.hashAPIKey(auditor))]\n"
    }

    static func reasons(_ response: TestResponse) -> [String: Int] {
        let rows = response.object["reasons"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: rows.compactMap { row in (row["reason"] as? String).map { ($0, row["count"] as? Int ?? -1) } })
    }

    static func tenants(_ response: TestResponse) -> Set<String> {
        Set((response.object["series"] as? [[String: Any]] ?? []).compactMap { ($0["labels"] as? [String: String])?["tenant"] })
    }

    @Test("The ring: buckets by minute, a tenant's view holds only its series, old minutes leave the hour, series are bounded")
    func ring() throws {
        // Thirty seconds into a minute, so 125 s later is exactly two minutes on (starting at the wall clock's
        // present made the bucket depend on the second at which the test ran).
        let clock = TestClock(start: Date(timeIntervalSince1970: 1_800_000_030))
        let ring = DashboardRing(now: clock.now)
        ring.record("sealgate_denials_total", labels: [("reason", "scope_not_permitted"), ("tenant", "acme")], amount: 2)
        ring.record("sealgate_denials_total", labels: [("tenant", "globex"), ("reason", "scope_not_permitted")], amount: 1)
        ring.record("sealgate_attestation_total", labels: [("tee", "mock"), ("reason", "granted")], amount: 1)
        clock.advance(125)
        ring.record("sealgate_denials_total", labels: [("tenant", "acme"), ("reason", "scope_not_permitted")], amount: 3)
        let hour = try DashboardWindow(range: "hour", buckets: nil)
        let all = ring.snapshot(hour, tenant: nil)
        #expect(all.series.count == 3)
        let acme = try #require(all.series.first { $0.labels["tenant"] == "acme" })
        #expect(acme.total == 5 && acme.points.count == 60 && acme.points[59] == 3 && acme.points[57] == 2)
        let own = ring.snapshot(hour, tenant: "acme")
        #expect(own.series.map(\.labels) == [["tenant": "acme", "reason": "scope_not_permitted"]])
        // Six buckets of ten minutes: both minutes fall in the last one.
        let coarse = ring.snapshot(try DashboardWindow(range: "hour", buckets: "6"), tenant: "acme")
        #expect(coarse.bucketSeconds == 600 && coarse.series.first?.points == [0, 0, 0, 0, 0, 5])
        clock.advance(2 * 3600)
        #expect(ring.snapshot(hour, tenant: nil).series.isEmpty)
        #expect(ring.snapshot(try DashboardWindow(range: "day", buckets: "24"), tenant: "acme").series.first?.total == 5)
        clock.advance(23 * 3600)
        #expect(ring.snapshot(try DashboardWindow(range: "day", buckets: nil), tenant: nil).series.isEmpty)
        for n in 0..<(DashboardRing.maxSeries + 10) {
            ring.record("sealgate_denials_total", labels: [("tenant", "t\(n)")], amount: 1)
        }
        let bounded = ring.snapshot(hour, tenant: nil)
        #expect(bounded.series.count <= DashboardRing.maxSeries && bounded.overflow >= 10)
    }

    @Test("Windows and scopes: unknown ranges, bucket counts out of range and foreign tenants are refused with their codes")
    func windows() throws {
        for (range, buckets, code) in [
            ("week", nil, "unknown_time_range"), ("", nil, "unknown_time_range"), ("hour", "0", "bucket_count_out_of_range"),
            ("hour", "61", "bucket_count_out_of_range"), ("day", "1441", "bucket_count_out_of_range"), ("hour", "+5", "bucket_count_out_of_range"),
            ("hour", "abc", "bucket_count_out_of_range"), ("day", "100000000000000000000", "bucket_count_out_of_range"),
        ] as [(String, String?, String)] {
            #expect(throws: DashboardRefusal.self, "\(range) \(buckets ?? "-")") { _ = try DashboardWindow(range: range, buckets: buckets) }
            do { _ = try DashboardWindow(range: range, buckets: buckets) } catch { #expect(error.code == code) }
        }
        #expect(try DashboardWindow(range: "day", buckets: "1440").minutesPerBucket == 1)
        #expect(try DashboardWindow(range: nil, buckets: nil) == DashboardWindow(range: "hour", buckets: "60"))
        #expect(try DashboardWindow.scope(callerTenant: "acme", requested: nil) == "acme")
        #expect(try DashboardWindow.scope(callerTenant: "acme", requested: "acme") == "acme")
        #expect(try DashboardWindow.scope(callerTenant: nil, requested: "globex") == "globex")
        #expect(try DashboardWindow.scope(callerTenant: nil, requested: nil) == nil)
        #expect(throws: DashboardRefusal.foreignTenant()) { _ = try DashboardWindow.scope(callerTenant: "acme", requested: "globex") }
    }

    @Test("Gateway dashboard over HTTP: 401 without a key, counts per reason, a tenant's own view only, bad input refused, audited and counted")
    func gateway() async throws {
        let fixture = try Fixture(config: Self.config())
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            for path in ["/dashboard", "/dashboard/data"] {
                let refused = try await client.send(.get, path, key: nil)
                #expect(refused.status == .unauthorized)
                #expect(refused.headers[values: .wwwAuthenticate].contains { $0.hasPrefix("Basic ") })
                let index = try #require(refused.auditIndex)
                let record = try #require(try fixture.auditRecord(index))
                #expect(record["kind"] as? String == "dashboard" && record["reason"] as? String == "missing_credentials")
            }
            for _ in 0..<2 { try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("remote work?", scope: [])) }
            try await client.send(.post, "/v1/query", key: Keys.globex, json: queryJSON("remote work?", dataClass: "no-such-class"))
            try await client.send(.post, "/v1/query", key: "sg_wrong_key_0123456789", json: queryJSON("remote work?"))

            let page = try await client.send(.get, "/dashboard", key: Self.auditor)
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(csp.hasPrefix("default-src 'none'") && csp.contains("script-src 'sha256-") && !csp.contains("unsafe"))
            #expect(!page.text.contains("src=\"http") && !page.text.contains("href=\"http") && page.body.readableBytes < 100 * 1024)

            let all = try await client.send(.get, "/dashboard/data?range=hour", key: Self.auditor)
            #expect(all.status == .ok && all.object["scope"] as? String == "all")
            let counts = Self.reasons(all)
            #expect(counts["scope_not_permitted"] == 2 && counts["unknown_data_class"] == 1, "\(counts)")
            #expect(counts["invalid_credentials"] == 1 && counts["missing_credentials"] == 2, "\(counts)")
            #expect(((all.object["facts"] as? [[String: Any]]) ?? []).contains { $0["key"] as? String == "audit_size" })

            // HTTP Basic with the key as password is the same credential.
            let basic = "Basic " + Data("anyone:\(Keys.acme)".utf8).base64EncodedString()
            let own = try await client.send(.get, "/dashboard/data?range=day&buckets=24", key: nil, headers: [.authorization: basic])
            #expect(own.status == .ok && own.object["scope"] as? String == "acme" && (own.object["series"] as? [Any])?.isEmpty == false)
            #expect(Self.tenants(own) == ["acme"])
            #expect(Self.reasons(own) == ["scope_not_permitted": 2], "\(own.text)")
            #expect(!((own.object["facts"] as? [[String: Any]]) ?? []).contains { $0["key"] as? String == "audit_size" })

            for (path, status, code) in [
                ("/dashboard/data?tenant=globex", HTTPResponse.Status.forbidden, "tenant_not_permitted"),
                ("/dashboard/data?range=week", .badRequest, "unknown_time_range"),
                ("/dashboard/data?range=hour&buckets=100000", .badRequest, "bucket_count_out_of_range"),
            ] {
                let refused = try await client.send(.get, path, key: Keys.acme)
                #expect(refused.status == status && refused.problemType == "urn:sealgate:problem:\(code)", "\(path): \(refused.text)")
                let index = try #require(refused.auditIndex)
                let record = try #require(try fixture.auditRecord(index))
                #expect(record["kind"] as? String == "dashboard" && record["tenant"] as? String == "acme" && record["reason"] as? String == code)
            }
            let after = Self.reasons(try await client.send(.get, "/dashboard/data", key: Keys.acme))
            #expect(after["tenant_not_permitted"] == 1 && after["unknown_time_range"] == 1 && after["bucket_count_out_of_range"] == 1, "\(after)")
            let filtered = try await client.send(.get, "/dashboard/data?tenant=globex", key: Self.auditor)
            #expect(Self.tenants(filtered) == ["globex"] && Self.reasons(filtered) == ["unknown_data_class": 1])
            let metrics = try await client.send(.get, "/metrics", key: nil).text
            #expect(metrics.contains("sealgate_denials_total{reason=\"tenant_not_permitted\",tenant=\"acme\",data_class=\"-\",route=\"dashboard\"} 1"))
        }
    }

    @Test("Broker dashboard: reader role required, bad input refused as an audited admin action and shown in the figures")
    func broker() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let instance = try await SealgateBroker.build(BrokerOptions(port: 0, dataDir: dir.path, logger: Logger(label: "test")))
        let token = try String(contentsOfFile: try #require(instance.bootstrapTokenPath), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await instance.application.test(.live) { client in
            let refused = try await client.send(.get, "/dashboard", key: nil)
            #expect(refused.status == .unauthorized && refused.headers[values: .wwwAuthenticate].contains { $0.hasPrefix("Basic ") })
            let shredder = try await client.send(.post, "/admin/v0/credentials", key: token, json: #"{"name":"shred-only","roles":["shredder"]}"#)
            let shredderToken = try #require(shredder.object["token"] as? String)
            #expect(try await client.send(.get, "/dashboard/data", key: shredderToken).status == .forbidden)
            let page = try await client.send(.get, "/dashboard", key: token)
            #expect(page.status == .ok && page.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'none'") == true)
            let bad = try await client.send(.get, "/dashboard/data?range=year", key: token)
            #expect(bad.status == .badRequest && bad.object["reason"] as? String == "unknown_time_range", "\(bad.text)")
            let data = try await client.send(.get, "/dashboard/data?range=hour&buckets=4", key: token)
            #expect(data.status == .ok && data.object["process"] as? String == "broker" && data.object["buckets"] as? Int == 4)
            #expect(Self.reasons(data)["unknown_time_range"] == 1 && Self.reasons(data)["role_missing"] == 1, "\(data.text)")
            #expect(((data.object["facts"] as? [[String: Any]]) ?? []).contains { $0["key"] as? String == "reference_sets" })
        }
        let entries = String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir.path + "/audit/entries")), as: UTF8.self)
        #expect(entries.contains("\"reason\":\"unknown_time_range\"") && entries.contains("dashboard.unknown_time_range"))
    }
}

@Suite("Security event drops are counted")
struct WebhookDropTests {
    @Test("A full webhook queue drops its oldest event and reports each drop")
    func drops() {
        let drops = Mutex(0)
        let sink = WebhookEventSink(url: "http://127.0.0.1:9/", source: "/test", capacity: 2, logger: Logger(label: "test")) {
            drops.withLock { $0 += 1 }
        }
        for n in 0..<5 { sink.emit(SecurityEvent(type: "dev.sealgate.test", time: Date(), data: ["n": String(n)])) }
        #expect(drops.withLock { $0 } == 3 && sink.counts.dropped == 3)
    }
}
