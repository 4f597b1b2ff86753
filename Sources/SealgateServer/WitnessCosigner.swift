import AsyncHTTPClient
import Audit
import Foundation
import Logging
import NIOCore
import SealgateCore

/// The gateway's side of C2SP tlog-witness: submits each new checkpoint to the configured witnesses with a
/// consistency proof from the size each last cosigned, collects their cosignatures, and keeps the newest checkpoint
/// that reached the quorum (also in `<audit>/cosigned`, so it survives a restart) for `GET /audit/checkpoint`.
///
/// A witness that answers 409 is retried once with the size it names. A witness that refuses because the checkpoint
/// contradicts what it cosigned — the same size with another root (409 naming our old size), a size beyond our log
/// (409), or a proof that does not verify (422) — has seen another history of this log: that is a split view,
/// logged, counted in `sealgate_audit_witness_refusals_total{reason="split_view"}` and emitted as the security event
/// `dev.sealgate.audit.witness_refused`. Submissions never run on a request's path (``WitnessService``).
actor WitnessCosigner {
    /// One witness: where its submission prefix is, and its cosignature verifier key.
    struct Endpoint: Sendable {
        let url: String
        let verifier: CosignatureVerifier
    }

    /// What one submission to one witness gave.
    enum Outcome: Sendable, Equatable {
        case cosigned(SignedNote.Signature, witnessedSize: Int)
        /// The witness refused; `splitView` when its refusal shows another history of the log.
        case refused(reason: String, splitView: Bool, witnessedSize: Int?)
        case unreachable
    }

    static let cosignedMetric = "sealgate_audit_witness_cosignatures_total"
    static let refusedMetric = "sealgate_audit_witness_refusals_total"
    static let witnessedSizeMetric = "sealgate_audit_witnessed_size"

    let endpoints: [Endpoint]
    let quorum: Int
    let timeout: TimeAmount
    let log: AuditLog
    let file: CosignedNoteFile
    let metrics: PrometheusRecorder
    let events: any SecurityEventSink
    let logger: Logger
    /// One client for the process's witness submissions (never shut down, as the CLI's gateway client): a refused
    /// connection fails at once, redirects are not followed, each request has its own deadline.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
    /// The size each witness last cosigned, as far as this gateway knows (0 until it learns; a 409 teaches it).
    var witnessedSizes: [Int]
    /// The newest checkpoint that reached the quorum, with its cosignatures.
    private(set) var witnessed: (note: String, size: Int)?
    /// The cosignatures collected for the newest submitted checkpoint (which may be below the quorum).
    var latest: SignedNote?

    init(
        endpoints: [Endpoint], quorum: Int, timeoutSeconds: Double, log: AuditLog, metrics: PrometheusRecorder, events: any SecurityEventSink,
        logger: Logger
    ) throws {
        self.endpoints = endpoints
        self.quorum = quorum
        timeout = .milliseconds(Int64(max(0.1, timeoutSeconds) * 1000))
        self.log = log
        file = try CosignedNoteFile(path: log.directory + "/cosigned")
        self.metrics = metrics
        self.events = events
        self.logger = logger
        witnessedSizes = Array(repeating: 0, count: endpoints.count)
        let verifiers = endpoints.map(\.verifier)
        for note in CosignedNoteFile.read(file.path).reversed() {
            if let checkpoint = try? AuditVerifier.verifyWitnessedCheckpoint(note: note, log: log.verifier, witnesses: verifiers, quorum: quorum) {
                witnessed = (note, checkpoint.size)
                break
            }
        }
    }

    /// The note `GET /audit/checkpoint` serves: `latest` with its cosignatures when they reach the quorum, else the
    /// newest witnessed checkpoint, else `latest` with whatever cosignatures it has.
    func servedNote(latest note: String) -> String {
        if let latest, var current = try? SignedNote(note), current.text == latest.text {
            for signature in latest.signatures where !current.signatures.contains(signature) { try? current.append(lines: signature.line) }
            let count = endpoints.filter { if case .valid = $0.verifier.check(current) { true } else { false } }.count
            if count >= quorum || witnessed == nil { return current.encoded }
        }
        return witnessed?.note ?? note
    }

    /// Submits `note` (a checkpoint signed by the log) to every witness at once and records what they return.
    func submit(_ note: String) async {
        guard var signed = try? SignedNote(note), let checkpoint = try? Checkpoint(body: signed.text) else { return }
        if let witnessed, witnessed.size >= checkpoint.size, checkpoint.size > 0 { return }
        let sizes = witnessedSizes
        let outcomes = await withTaskGroup(of: (Int, Outcome).self) { group in
            for (i, endpoint) in endpoints.enumerated() {
                group.addTask { (i, await self.submit(note, checkpoint: checkpoint, to: endpoint, oldSize: sizes[i])) }
            }
            var all: [(Int, Outcome)] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        var cosigners = 0
        for (i, outcome) in outcomes.sorted(by: { $0.0 < $1.0 }) {
            record(outcome, endpoint: endpoints[i], checkpoint: checkpoint)
            switch outcome {
            case .cosigned(let signature, let size):
                witnessedSizes[i] = size
                try? signed.append(lines: signature.line)
                cosigners += 1
            case .refused(_, _, let size?): witnessedSizes[i] = size
            default: break
            }
        }
        latest = signed
        guard cosigners >= quorum, checkpoint.size > (witnessed?.size ?? -1) else { return }
        do {
            try await file.append(signed.encoded)
            witnessed = (signed.encoded, checkpoint.size)
            metrics.gauge(Self.witnessedSizeMetric, value: Double(checkpoint.size))
        } catch {
            logger.error("witnessed checkpoint could not be stored", metadata: ["audit.size": "\(checkpoint.size)"])
        }
    }

    private func record(_ outcome: Outcome, endpoint: Endpoint, checkpoint: Checkpoint) {
        let name = endpoint.verifier.name
        switch outcome {
        case .cosigned: metrics.increment(Self.cosignedMetric, labels: [("witness", name)], by: 1)
        case .unreachable:
            metrics.increment(Self.refusedMetric, labels: [("witness", name), ("reason", "unreachable")], by: 1)
            logger.warning("witness unreachable", metadata: ["witness.name": "\(name)", "audit.size": "\(checkpoint.size)"])
        case .refused(let reason, let splitView, let size):
            metrics.increment(Self.refusedMetric, labels: [("witness", name), ("reason", splitView ? "split_view" : reason)], by: 1)
            guard splitView else {
                logger.error("witness refused the checkpoint", metadata: ["witness.name": "\(name)", "witness.reason": "\(reason)"])
                return
            }
            logger.critical(
                "a witness refused this log's checkpoint as inconsistent with one it cosigned: split view or rolled-back log",
                metadata: ["witness.name": "\(name)", "witness.reason": "\(reason)", "audit.size": "\(checkpoint.size)"])
            var data = ["witness": name, "reason": reason, "checkpoint_size": String(checkpoint.size)]
            if let size { data["witnessed_size"] = String(size) }
            events.emit(SecurityEvent(type: "dev.sealgate.audit.witness_refused", subject: checkpoint.origin, data: data))
        }
    }

    /// One witness: at most two requests (the second with the size a 409 named).
    nonisolated func submit(_ note: String, checkpoint: Checkpoint, to endpoint: Endpoint, oldSize: Int) async -> Outcome {
        var old = oldSize
        for attempt in 0..<2 {
            guard old <= checkpoint.size else { return .refused(reason: "witnessed_beyond_log", splitView: true, witnessedSize: old) }
            guard let proof = try? await log.consistencyProof(from: old, to: checkpoint.size).proof else {
                return .refused(reason: "no_consistency_proof", splitView: false, witnessedSize: nil)
            }
            var request = HTTPClientRequest(url: endpoint.url.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/add-checkpoint")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            request.body = .bytes(ByteBuffer(bytes: AddCheckpointRequest(oldSize: old, proof: old == 0 ? [] : proof, note: note).body))
            let status: UInt
            let body: String
            do {
                let response = try await Self.client.execute(request, timeout: timeout)
                body = String(buffer: try await response.body.collect(upTo: 64 << 10))
                status = response.status.code
            } catch {
                return .unreachable
            }
            switch status {
            case 200:
                guard var signed = try? SignedNote(note), (try? signed.append(lines: body)) != nil,
                    case .valid = endpoint.verifier.check(signed),
                    let line = signed.signatures.first(where: { $0.name == endpoint.verifier.name && $0.blob.prefix(4) == endpoint.verifier.keyID })
                else { return .refused(reason: "bad_cosignature", splitView: false, witnessedSize: nil) }
                return .cosigned(line, witnessedSize: checkpoint.size)
            case 409:
                guard let size = Int(body.trimmingCharacters(in: .newlines)), size >= 0 else {
                    return .refused(reason: "bad_conflict_body", splitView: false, witnessedSize: nil)
                }
                // Same old size refused: the witness holds another root for it. Beyond our size: we rolled back.
                if size > checkpoint.size { return .refused(reason: "witnessed_beyond_log", splitView: true, witnessedSize: size) }
                if size == old { return .refused(reason: "root_mismatch", splitView: true, witnessedSize: size) }
                if attempt == 1 { return .refused(reason: "conflict", splitView: false, witnessedSize: size) }
                old = size
            case 422: return .refused(reason: "inconsistent_proof", splitView: old > 0, witnessedSize: old)
            case 403: return .refused(reason: "bad_signature", splitView: false, witnessedSize: nil)
            case 404: return .refused(reason: "unknown_log", splitView: false, witnessedSize: nil)
            default: return .refused(reason: "http_\(status)", splitView: false, witnessedSize: nil)
            }
        }
        return .unreachable
    }
}
