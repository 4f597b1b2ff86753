import Audit
import Foundation
import Logging
import ServiceLifecycle

/// Runs witness submissions off the request path: every checkpoint the log signs is offered to a one-slot buffer
/// (a newer one replaces one not yet taken — its consistency proof covers the skipped ones), and one round at a
/// time submits it to every witness, each request bounded by `audit.witness_timeout_seconds`.
struct WitnessService: Service {
    let cosigner: WitnessCosigner
    let log: AuditLog
    let checkpoints: AsyncStream<String>
    let offer: @Sendable (String) -> Void

    init(cosigner: WitnessCosigner, log: AuditLog) {
        self.cosigner = cosigner
        self.log = log
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        checkpoints = stream
        offer = { continuation.yield($0) }
    }

    func run() async throws {
        await log.setCheckpointObserver(offer)
        if let note = await log.latestSignedNote { offer(note) }
        await cancelWhenGracefulShutdown {
            for await note in checkpoints { await cosigner.submit(note) }
        }
        await log.setCheckpointObserver(nil)
    }
}

extension Sealgate {
    /// The witness submitter of `audit.witnesses`, or `nil` when none are configured.
    /// - Throws: ``AuditError`` when a witness key is malformed (`sealgate config check` reports it first) or the
    ///   `cosigned` file cannot be opened.
    static func witnessService(_ parts: GatewayParts, logger: Logger) throws -> WitnessService? {
        let audit = parts.configuration.audit
        guard !audit.witnesses.isEmpty else { return nil }
        let endpoints = try audit.witnesses.map { WitnessCosigner.Endpoint(url: $0.url, verifier: try CosignatureVerifier(encoded: $0.key)) }
        let cosigner = try WitnessCosigner(
            endpoints: endpoints, quorum: audit.witnessQuorum, timeoutSeconds: audit.witnessTimeoutSeconds, log: parts.audit,
            metrics: parts.metrics, events: parts.events, logger: logger)
        return WitnessService(cosigner: cosigner, log: parts.audit)
    }
}
