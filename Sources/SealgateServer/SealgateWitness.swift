import Audit
import Foundation
import HTTPHardening
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SealgateCore
import SecurityEvents
import Witness

/// What `sealgate witness` runs with.
public struct WitnessOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8082
    /// Holds `witness.key` (0600), `logs/` (per-log state) and `security-events.jsonl`.
    public var dataDir = ".sealgate-witness"
    /// The witness's key name: the name in its cosignature lines and verifier key.
    public var name = "sealgate.local/witness"
    /// The logs it witnesses: each verifier key's name is the origin it is trusted for.
    public var logs: [NoteVerifier] = []
    public var listener = ListenerLimits()
    public var logger = Logger(label: "sealgate.witness")
    /// The clock of the cosignatures' timestamps.
    public var now: @Sendable () -> Date = Date.init
    /// Where split-view events go; default `<data-dir>/security-events.jsonl`.
    public var events: (any SecurityEventSink)?

    public init() {}
}

/// A built witness: its HTTP application and handles tests use.
public struct WitnessInstance: Sendable {
    public let application: Application<RouterResponder<BasicRequestContext>>
    public let witness: Witness
    public let metrics: PrometheusRecorder
}

/// The composition root of `sealgate witness`: a C2SP tlog-witness over HTTP (`POST /add-checkpoint`), behind the
/// same listener guard as the gateway.
public enum SealgateWitness {
    /// Largest `add-checkpoint` body accepted: 63 proof lines and a note with a few dozen signatures fit easily.
    static let bodyLimit = 64 << 10
    /// The metric counting cosignatures, by origin.
    static let cosignedMetric = "sealgate_witness_cosignatures_total"
    /// The metric counting refusals, by reason.
    static let refusedMetric = "sealgate_witness_refusals_total"

    /// The witness key of a data directory (created on first use, mode 0600).
    /// - Throws: ``AuditError`` `audit_unavailable` when the key file is unreadable, malformed or readable by others.
    public static func signer(dataDir: String, name: String) throws -> CosignatureSigner {
        try CosignatureSigner.loadOrCreate(path: dataDir + "/witness.key", name: name)
    }

    /// Builds the witness: key, state store, event sink and HTTP application.
    /// - Throws: ``WitnessError`` `bad_configuration` without logs or with a malformed name; key and state errors.
    public static func build(_ options: WitnessOptions) throws -> WitnessInstance {
        guard SignedNote.isValidKeyName(options.name) else {
            throw WitnessError(.badConfiguration, "the witness name must be non-empty, without spaces or '+'")
        }
        guard !options.logs.isEmpty else { throw WitnessError(.badConfiguration, "give at least one --log ORIGIN=VERIFIER_KEY") }
        try FileManager.default.createDirectory(atPath: options.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let witness = Witness(
            signer: try signer(dataDir: options.dataDir, name: options.name), logs: options.logs,
            store: try WitnessStateStore(directory: options.dataDir + "/logs"), now: options.now)
        let metrics = PrometheusRecorder()
        let events = try options.events
            ?? LineEventSink.file(path: options.dataDir + "/security-events.jsonl", source: "/sealgate-witness/" + options.name)
        let router = router(witness: witness, metrics: metrics, events: events, logger: options.logger)
        let application = Application(
            router: router, server: .guardedHTTP1(.gateway(options.listener, metrics: metrics)),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "sealgate-witness"),
            logger: options.logger)
        return WitnessInstance(application: application, witness: witness, metrics: metrics)
    }

    /// The witness's routes: `POST /add-checkpoint`, `/healthz`, `/metrics`.
    static func router(witness: Witness, metrics: PrometheusRecorder, events: any SecurityEventSink, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.post("/add-checkpoint") { request, _ -> Response in
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: bodyLimit) } catch {
                metrics.increment(refusedMetric, labels: [("reason", ReasonCode.bodyTooLarge.rawValue)], by: 1)
                return problem(ReasonCode.bodyTooLarge.rawValue, status: .contentTooLarge, detail: "An add-checkpoint body is at most \(bodyLimit) bytes.")
            }
            switch await witness.addCheckpoint(Data(body.readableBytesView)) {
            case .cosigned(let lines, let checkpoint):
                metrics.increment(cosignedMetric, labels: [("origin", checkpoint.origin)], by: 1)
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(string: lines)))
            case .refused(let refusal):
                return refused(refusal, metrics: metrics, events: events, logger: logger)
            }
        }
        return router
    }

    /// A refusal as C2SP tlog-witness requires: 409 bodies are the cosigned size in `text/x.tlog.size`; the other
    /// statuses carry an RFC 7807 problem with the reason code. A split view is a security event.
    static func refused(_ refusal: WitnessRefusal, metrics: PrometheusRecorder, events: any SecurityEventSink, logger: Logger) -> Response {
        metrics.increment(refusedMetric, labels: [("reason", refusal.reason.rawValue)], by: 1)
        var data = ["reason": refusal.reason.rawValue]
        if let size = refusal.witnessedSize { data["witnessed_size"] = String(size) }
        if let size = refusal.checkpointSize { data["checkpoint_size"] = String(size) }
        if refusal.isSplitView {
            logger.error(
                "witness refused a checkpoint that contradicts one it cosigned (split view)",
                metadata: ["audit.origin": "\(refusal.origin ?? "-")", "witness.reason": "\(refusal.reason)"])
            events.emit(SecurityEvent(type: "dev.sealgate.witness.split_view", subject: refusal.origin, data: data))
        }
        if refusal.reason.status == 409, let size = refusal.witnessedSize {
            return Response(
                status: .conflict, headers: [.contentType: "text/x.tlog.size", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: "\(size)\n")))
        }
        return problem(refusal.reason.rawValue, status: HTTPResponse.Status(code: refusal.reason.status), detail: refusal.detail)
    }

    static func problem(_ reason: String, status: HTTPResponse.Status, detail: String) -> Response {
        let body = Problem.Body(
            type: "urn:sealgate:problem:\(reason)", title: Problem.title(for: ReasonCode(reason)), status: status.code, detail: detail, instance: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(
            status: status, headers: [.contentType: "application/problem+json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: (try? encoder.encode(body)) ?? Data("{}".utf8))))
    }
}
