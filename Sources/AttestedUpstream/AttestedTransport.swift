import Foundation
import KBSProtocol
import ModelClientOpenAI
import NIOCore
import NIOHTTP1
import SealgateCore
import SwiftASN1
import Synchronization
import X509

/// An upstream transport that talks only to attested workloads: HTTPS whose certificate chains to the broker's
/// workload CA (and nothing else), names the host, is valid now, and carries the Sealgate workload extension with
/// the expected workload class and — when the profile lists any — an allowed measurement. Verified in the TLS
/// handshake, before a byte of the request (prompt, passages) is written; one connection per request
/// (``OneShotHTTPS``).
///
/// With a pinned ``modelDigest`` the extension must also carry that model digest (bound into the upstream's evidence
/// by `tee-proxy --model`, certified by the broker).
///
/// A refusal is an ``UpstreamRefused`` with `model_not_attested` (or `model_digest_mismatch` when only the model
/// digest differs): never retried, never downgraded to plain HTTP.
public struct AttestedTransport: UpstreamTransport {
    /// The workload class the certificate must name (`model:<id>`).
    public let workload: String
    /// Measurements the extension may carry; empty: any the broker certified.
    public let measurements: Set<String>
    /// The model digest (`sha256:<hex>`) the extension must carry; nil: any or none.
    public let modelDigest: String?
    /// The broker CA bundle (PEM certificates) to trust, read at each connection so CA rotation takes effect.
    let trust: @Sendable () async -> [String]
    let now: @Sendable () -> Date
    /// The bundle parsed once per content, not per request.
    let roots = TrustRoots()

    /// Creates the transport.
    public init(
        workload: String, measurements: [String], modelDigest: String? = nil, trust: @escaping @Sendable () async -> [String],
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.workload = workload
        self.measurements = Set(measurements.map { $0.lowercased() })
        self.modelDigest = modelDigest
        self.trust = trust
        self.now = now
    }

    public func post(url: String, headers: [(String, String)], body: Data, timeout: TimeAmount) async throws -> UpstreamResponse {
        guard let parsed = URL(string: url), parsed.scheme == "https", let host = parsed.host else {
            throw UpstreamRefused(.modelNotAttested, "an attested upstream is reached over https only")
        }
        let port = parsed.port ?? 443
        var target = parsed.path.isEmpty ? "/" : parsed.path
        if let query = parsed.query { target += "?" + query }
        let roots = self.roots.roots(await trust())
        guard !roots.isEmpty else { throw UpstreamRefused(.modelNotAttested, "no workload CA to verify the upstream against") }
        let check = CertificateCheck(roots: roots, host: host, workload: workload, measurements: measurements, modelDigest: modelDigest, now: now)
        let refusal = UpstreamRefused(.modelNotAttested, "the upstream at \(host):\(port) did not prove an attested \(workload) (TLS refused)")
        do {
            return try await OneShotHTTPS.send(
                host: host, port: port, method: .POST, target: target, headers: headers, body: body, timeout: timeout, refusal: refusal,
                verify: { await check.verify($0) }
            ).response
        } catch let refused as UpstreamRefused where refused.code == .modelNotAttested && check.modelDigestDiffered {
            throw UpstreamRefused(
                .modelDigestMismatch, "the upstream at \(host):\(port) is an attested \(workload) serving another model than \(modelDigest ?? "-") (TLS refused)")
        }
    }

}

/// The checks of an attested upstream's certificate chain.
final class CertificateCheck: Sendable {
    let roots: [Certificate]
    let host: String
    let workload: String
    let measurements: Set<String>
    let modelDigest: String?
    let now: @Sendable () -> Date
    /// Whether a chain passed every check but the model digest (for the refusal's reason code).
    private let digestDiffered = Mutex(false)

    init(roots: [Certificate], host: String, workload: String, measurements: Set<String>, modelDigest: String?, now: @escaping @Sendable () -> Date) {
        self.roots = roots
        self.host = host
        self.workload = workload
        self.measurements = measurements
        self.modelDigest = modelDigest
        self.now = now
    }

    var modelDigestDiffered: Bool { digestDiffered.withLock { $0 } }

    /// Chain to a trusted root valid now, names the host, and carries the expected workload extension (and model digest).
    func verify(_ chain: [Certificate]) async -> Bool {
        guard let leaf = await ChainCheck.verifiedLeaf(chain, roots: roots, host: host, now: now()) else { return false }
        guard let value = WorkloadExtension(leaf), value.workload == workload else { return false }
        guard measurements.isEmpty || measurements.contains(value.measurement.lowercased()) else { return false }
        guard let modelDigest, value.modelDigest != modelDigest else { return true }
        digestDiffered.withLock { $0 = true }
        return false
    }
}
