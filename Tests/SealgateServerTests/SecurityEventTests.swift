import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SealgateCore
import SecurityEvents
import Synchronization
import Testing

@testable import SealgateServer

@Suite("Security event stream")
struct SecurityEventTests {
    static func events(_ fixture: Fixture) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: fixture.dir + "/security-events.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    @Test("Start-up, attestation, key grants, mock evidence and refused credentials appear as CloudEvents, without content")
    func fileStream() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            try await client.send(.post, "/v1/query", key: "sg_wrong_key", json: queryJSON("secret question text"))
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        let events = try Self.events(fixture)
        let types = events.compactMap { $0["type"] as? String }
        for expected in ["dev.sealgate.policy.loaded", "dev.sealgate.attestation.result", "dev.sealgate.attestation.mock_evidence", "dev.sealgate.key.granted", "dev.sealgate.request.denied"] {
            #expect(types.contains(expected), "\(expected) missing from \(types)")
        }
        for event in events {
            #expect(event["specversion"] as? String == "1.0")
            #expect((event["id"] as? String)?.isEmpty == false)
            #expect((event["source"] as? String)?.hasPrefix("/sealgate/") == true)
            #expect(event["time"] is String)
        }
        let granted = events.first { $0["type"] as? String == "dev.sealgate.key.granted" }
        #expect((granted?["data"] as? [String: String])?["key_ids"]?.contains("#1") == true)
        let raw = try String(contentsOfFile: fixture.dir + "/security-events.jsonl", encoding: .utf8)
        #expect(!raw.contains("secret question text"))
        #expect(!raw.contains("sg_wrong_key"))
    }

    @Test("The webhook sink retries a failing receiver and delivers every event once it recovers")
    func webhookRetry() async throws {
        let received = Mutex<[String]>([])
        let failures = Mutex(2)
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            let fail = failures.withLock { n -> Bool in
                if n > 0 { n -= 1; return true }
                return false
            }
            if fail { return Response(status: .serviceUnavailable) }
            received.withLock { $0.append(body) }
            return Response(status: .accepted)
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await receiver.test(.live) { client in
            let port = try #require(client.port)
            let sink = WebhookEventSink(url: "http://127.0.0.1:\(port)/hook", source: "/sealgate/test", capacity: 100, attempts: 5, logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await sink.run() }
                for n in 0..<5 { sink.emit(SecurityEvent(type: "dev.sealgate.test", data: ["n": String(n)])) }
                for _ in 0..<100 where sink.counts.delivered < 5 { try await Task.sleep(nanoseconds: 50_000_000) }
                group.cancelAll()
            }
            #expect(sink.counts.delivered == 5)
            #expect(sink.counts.dropped == 0)
            let ns = received.withLock { $0 }.compactMap { body -> String? in
                let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                return (object?["data"] as? [String: String])?["n"]
            }
            #expect(ns == ["0", "1", "2", "3", "4"])
        }
    }

    @Test("The webhook sink follows no redirect: an event goes to the configured URL or nowhere")
    func webhookFollowsNoRedirect() async throws {
        let received = Mutex(0)
        let router = Router()
        router.post("/moved") { _, _ -> Response in Response(status: .permanentRedirect, headers: [.location: "/elsewhere"]) }
        router.post("/elsewhere") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0 += 1 }
            return Response(status: .accepted)
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await receiver.test(.live) { client in
            let port = try #require(client.port)
            let sink = WebhookEventSink(url: "http://127.0.0.1:\(port)/moved", source: "/sealgate/test", capacity: 10, attempts: 1, logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await sink.run() }
                sink.emit(SecurityEvent(type: "dev.sealgate.test", data: ["n": "1"]))
                for _ in 0..<100 where sink.counts.dropped + sink.counts.delivered < 1 { try await Task.sleep(nanoseconds: 50_000_000) }
                group.cancelAll()
            }
            #expect(sink.counts.dropped == 1 && sink.counts.delivered == 0)
            #expect(received.withLock { $0 } == 0, "the event was re-sent to the redirect's location")
        }
    }

    @Test("A full webhook queue drops the oldest events and counts them")
    func boundedQueue() {
        let sink = WebhookEventSink(url: "http://127.0.0.1:1/unreachable", source: "/sealgate/test", capacity: 3, logger: Logger(label: "test"))
        for n in 0..<10 { sink.emit(SecurityEvent(type: "dev.sealgate.test", data: ["n": String(n)])) }
        #expect(sink.counts.dropped == 7)
    }
}
