import AsyncHTTPClient
import Foundation
import KeyBroker
import KeyLease
import NIOCore
import SealgateCore

/// Where the gateway gets the workload CA certificates it trusts for attested upstream models: a pinned file
/// (`--workload-ca`), the embedded broker, the bundle that came with its own workload certificate, or the
/// standalone broker's `GET /kbs/v0/workload-ca` (over the broker connection's TLS; cached for a minute).
actor TrustBundle {
    enum Source: Sendable {
        case file(String)
        case embedded(KeyBroker)
        case broker(url: String, client: HTTPClient, identity: WorkloadIdentity?)
    }

    let source: Source
    var cached: (bundle: [String], at: Date)?

    init(_ source: Source) { self.source = source }

    /// The CA certificates (PEM) to trust now; empty when none can be had (attested upstreams are then refused).
    func certificates() async -> [String] {
        switch source {
        case .file(let path):
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
            return [text]
        case .embedded(let broker):
            return (try? await broker.caCertificates()) ?? []
        case .broker(let url, let client, let identity):
            if let trust = identity?.lastCertificate?.trust, !trust.isEmpty { return trust }
            if let cached, Date().timeIntervalSince(cached.at) < 60 { return cached.bundle }
            let request = HTTPClientRequest(url: (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/kbs/v0/workload-ca")
            guard let response = try? await client.execute(request, timeout: .seconds(5)), response.status == .ok,
                let body = try? await response.body.collect(upTo: 1 << 20)
            else { return cached?.bundle ?? [] }
            let bundle = [String(buffer: body)]
            cached = (bundle, Date())
            return bundle
        }
    }
}
