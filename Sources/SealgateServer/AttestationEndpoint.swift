import Attestation
import AttestedUpstream
import Audit
import Crypto
import Foundation
import Hummingbird
import KeyBroker
import KeyLease
import NIOCore
import SealgateCore
import SwiftASN1
import Synchronization
import X509

/// `GET /v1/attestation[?nonce=…]`: evidence a client checks itself (`sealgate verify-gateway`, the Python client).
///
/// With `nonce` (base64url of 32 bytes): fresh evidence from the gateway's attester whose REPORT_DATA binds the
/// nonce and the SHA-256 of the TLS key it serves with now (``ClientAttestationBinding``). Without: the cached
/// evidence of the last attestation to the broker. No credentials; fresh evidence costs a signature (or a
/// hardware report), so requests are rate-limited per source address (`429 rate_limited`, counted in
/// `sealgate_attestation_requests_total{outcome}`).
struct AttestationEndpoint: Sendable {
    let leases: LeaseManager
    let identity: WorkloadIdentity?
    /// The operator's certificate chain (PEM) when serving `--tls-cert`; empty otherwise.
    let operatorChain: [String]
    let measurement: MockMeasurement
    let auditLog: AuditLog
    let metrics: PrometheusRecorder
    let limiter: RateLimiter

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/v1/attestation") { request, context in await answer(request, context) }
    }

    func answer(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        let source = context.remoteAddress ?? "unknown"
        guard limiter.allow(source) else {
            metrics.increment("sealgate_attestation_requests_total", labels: [("outcome", "rate_limited")], by: 1)
            return Problem.response(Denial(.rateLimited, "Too many attestation requests from this address; retry in a second."))
        }
        let nonce = request.uri.queryParameters.get("nonce")
        if let nonce, !ClientAttestationBinding.isValidNonce(nonce) {
            metrics.increment("sealgate_attestation_requests_total", labels: [("outcome", "bad_nonce")], by: 1)
            return Problem.response(Denial(.malformedRequest, "nonce must be base64url (no padding) of exactly 32 bytes."))
        }
        let tlsHash = identity.map { Hex.encode($0.publicKeySHA256) } ?? Self.operatorKeyHash(operatorChain)
        let chain = identity?.certificate?.chain ?? operatorChain
        let last = await leases.lastAttestation
        var body: GatewayAttestation
        if let nonce {
            let binding = ClientAttestationBinding(nonce: nonce, tlsPublicKeySHA256: tlsHash ?? "")
            let evidence: Evidence
            do { evidence = try await leases.freshEvidence(reportData: binding.reportData) } catch {
                metrics.increment("sealgate_attestation_requests_total", labels: [("outcome", "attester_failed")], by: 1)
                return Problem.response(Denial(.attestationFailed, "The attester could not produce evidence."))
            }
            body = GatewayAttestation(
                tee: evidence.tee.rawValue, evidence: Base64URL.encode(evidence.bytes), fresh: true,
                runtimeData: String(decoding: binding.canonicalJSON, as: UTF8.self), tlsPublicKeySHA256: tlsHash, certificateChain: chain,
                earToken: last?.token, measurement: measurement.measurement, policyDigest: measurement.policyDigest, auditKey: auditLog.verifier.encoded)
        } else {
            guard let last else {
                metrics.increment("sealgate_attestation_requests_total", labels: [("outcome", "not_attested")], by: 1)
                return Problem.response(Denial(.attestationDenied, "The gateway has not attested yet; ask with a nonce for fresh evidence."))
            }
            body = GatewayAttestation(
                tee: last.evidence.tee.rawValue, evidence: Base64URL.encode(last.evidence.bytes), fresh: false,
                runtimeData: String(decoding: last.runtimeData.canonicalJSON, as: UTF8.self), tlsPublicKeySHA256: tlsHash,
                certificateChain: chain, earToken: last.token, measurement: measurement.measurement, policyDigest: measurement.policyDigest,
                auditKey: auditLog.verifier.encoded)
        }
        metrics.increment("sealgate_attestation_requests_total", labels: [("outcome", nonce == nil ? "cached" : "fresh")], by: 1)
        var response = json(body)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// SHA-256 (hex) of the SubjectPublicKeyInfo of the first certificate of a PEM chain.
    static func operatorKeyHash(_ chain: [String]) -> String? {
        guard let first = chain.first, let certificate = try? Certificate(pemEncoded: first) else { return nil }
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate.publicKey)) != nil else { return nil }
        return Hex.encode(SHA256.hash(data: serializer.serializedBytes))
    }

    /// The PEM certificates of a chain file, each as its own document.
    static func chain(file: String?) -> [String] {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8),
            let certificates = try? ChainCheck.certificates(pem: text)
        else { return [] }
        return certificates.compactMap { try? $0.serializeAsPEM().pemString + "\n" }
    }
}

/// A per-source token bucket: `rate` requests per second with bursts of `burst`; at most `capacity` sources are
/// remembered (the oldest are forgotten first), so the table cannot grow without bound.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var last: Date
    }
    let rate: Double
    let burst: Double
    let capacity: Int
    let now: @Sendable () -> Date
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Double = 5, burst: Double = 10, capacity: Int = 10_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
        self.now = now
    }

    func allow(_ source: String) -> Bool {
        let current = now()
        return buckets.withLock { table in
            if table.count >= capacity, table[source] == nil {
                let oldest = table.min { $0.value.last < $1.value.last }?.key
                if let oldest { table[oldest] = nil }
            }
            var bucket = table[source] ?? Bucket(tokens: burst, last: current)
            bucket.tokens = min(burst, bucket.tokens + current.timeIntervalSince(bucket.last) * rate)
            bucket.last = current
            guard bucket.tokens >= 1 else {
                table[source] = bucket
                return false
            }
            bucket.tokens -= 1
            table[source] = bucket
            return true
        }
    }
}
