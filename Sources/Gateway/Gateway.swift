import Crypto
import Foundation
import KeyBroker
import KeyLease
import Logging
import Retrieval
import SealgateConfig
import SealgateCore
import Synchronization

/// A refusal on its way to the client, with the index of the audit record that recorded it.
public struct GatewayFailure: Error, Sendable {
    public let denial: Denial
    public let auditIndex: UInt64?
}

/// Everything the pipeline needs, built once by the composition root.
public struct GatewayDependencies: Sendable {
    public var configuration: Configuration
    public var store: any DocumentStore
    public var leases: LeaseManager
    public var embedder: any Embedder
    public var embeddingDimensions: Int
    public var models: [ModelProfileID: any ChatModel]
    public var redactors: any RedactorFactory
    public var audit: any AuditSink
    public var metrics: any MetricsRecorder
    public var events: any SecurityEventSink
    public var logger: Logger
    public var now: @Sendable () -> Date

    public init(
        configuration: Configuration, store: any DocumentStore, leases: LeaseManager, embedder: any Embedder,
        embeddingDimensions: Int, models: [ModelProfileID: any ChatModel], redactors: any RedactorFactory,
        audit: any AuditSink, metrics: any MetricsRecorder, events: any SecurityEventSink = NoSecurityEvents(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.events = events
        self.configuration = configuration
        self.store = store
        self.leases = leases
        self.embedder = embedder
        self.embeddingDimensions = embeddingDimensions
        self.models = models
        self.redactors = redactors
        self.audit = audit
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }
}

/// The confidential request pipeline: authenticate → decide → key lease → retrieve → decrypt → model →
/// redact → audit. Every stage can deny; every denial is audited, counted and returned as a value.
public final class Gateway: Sendable {
    let deps: GatewayDependencies
    let config: Configuration
    let policyDigest: String
    let credentials: [String: (Principal, PrincipalSettings)]
    let index: VectorIndex
    let chunker: Chunker
    /// The lease epoch whose keys the stored DEKs were last re-wrapped under (re-wrap runs only when keys change).
    let rewrappedEpoch = Mutex<Int?>(nil)
    /// Prepared DEKs of recently read documents, for the current lease epoch only.
    let dekCache = DEKCache()

    public init(_ deps: GatewayDependencies) {
        self.deps = deps
        self.config = deps.configuration
        self.policyDigest = ConfigLoader.policyDigest(deps.configuration)
        var credentials: [String: (Principal, PrincipalSettings)] = [:]
        for tenant in deps.configuration.tenants {
            for principal in tenant.principals {
                credentials[principal.apiKeySHA256.lowercased()] = (Principal(tenant: tenant.id, id: principal.id), principal)
            }
        }
        self.credentials = credentials
        self.index = VectorIndex(dimensions: deps.embeddingDimensions, idfWeighting: deps.embedder.wantsIDFWeighting)
        self.chunker = Chunker(
            targetCharacters: deps.configuration.retrieval.chunkCharacters,
            overlap: deps.configuration.retrieval.chunkOverlap)
    }

    /// The KEK resources this gateway needs: every configured tenant × data class.
    public var resources: [ResourcePath] {
        config.tenants.flatMap { tenant in config.dataClasses.map { ResourcePath(tenant: tenant.id, dataClass: $0.name) } }
    }

    /// The name of each tenant's opaque secret (`<tenant>/secret/gateway-salt`): the key of audit HMACs and
    /// redaction hash tokens.
    public static let tenantSecretName = "gateway-salt"

    /// The secret resources this gateway needs: one per tenant.
    public var secretResources: [String] {
        config.tenants.map { "\($0.id)/secret/\(Self.tenantSecretName)" }
    }

    /// Whether the gateway holds a valid key lease.
    public func isReady() async -> Bool { await deps.leases.isValid }

    /// When the current lease was obtained and when it ends (`nil`s without a valid lease).
    public func leaseTimes() async -> (acquired: Date?, expires: Date?) {
        guard let expiry = await deps.leases.expiry else { return (nil, nil) }
        return (await deps.leases.acquiredAt, expiry)
    }

    /// The evidence type this gateway attests with.
    public var tee: String { deps.leases.tee.rawValue }

    /// When the lease ends, if one is held.
    public func leaseExpiry() async -> Date? { await deps.leases.expiry }

    // MARK: Authentication

    /// Resolves a bearer credential to a principal.
    public func authenticate(authorization: String?) -> Result<(Principal, PrincipalSettings), Denial> {
        guard let header = authorization, header.lowercased().hasPrefix("bearer ") else {
            return .failure(Denial(.missingCredentials, "Send an API key as 'Authorization: Bearer <key>'."))
        }
        let key = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty else { return .failure(Denial(.missingCredentials, "The bearer credential is empty.")) }
        let digest = Gateway.hashAPIKey(key)
        guard let found = credentials[digest] else {
            return .failure(Denial(.invalidCredentials, "The API key is not valid."))
        }
        return .success(found)
    }

    /// Hex SHA-256 of an API key: the only form in which keys are stored.
    public static func hashAPIKey(_ key: String) -> String {
        Hex.encode(SHA256.hash(data: Data(key.utf8)))
    }

    /// The model profiles a principal may use at some data class it may use.
    public func models(for principal: PrincipalSettings) -> [ModelProfileID] {
        var out: [ModelProfileID] = []
        for rule in config.dataClasses where principal.mayUse(rule.name) {
            for model in rule.models where !out.contains(model) { out.append(model) }
        }
        return out
    }

    // MARK: Denials and audit

    /// Records a denial (audit record, metric, log) and returns it as a failure.
    public func deny(
        _ denial: Denial, kind: String, requestID: String, principal: Principal?, dataClass: String? = nil,
        model: String? = nil, rule: String? = nil
    ) async -> GatewayFailure {
        // Only configured names reach audit records and metric labels; request text never does.
        let classLabel = dataClass.map { DataClass($0).flatMap { config.dataClass($0) }?.name.rawValue ?? "unknown" }
        let modelLabel = model.map { ModelProfileID($0).flatMap { config.model($0) }?.id.rawValue ?? "unknown" }
        var record = AuditRecord(
            kind: kind, time: deps.now(), requestID: requestID, tenant: principal?.tenant.rawValue ?? "-",
            principal: principal?.id.rawValue ?? "-", outcome: "denied", reason: denial.reason.rawValue)
        record.dataClass = classLabel
        record.model = modelLabel
        record.rule = rule
        record.policyDigest = policyDigest
        let index = try? await deps.audit.append(record)
        deps.metrics.increment(
            "sealgate_denials_total",
            labels: [
                ("reason", denial.reason.rawValue), ("tenant", principal?.tenant.rawValue ?? "-"),
                ("data_class", classLabel ?? "-"), ("route", kind),
            ])
        if [.invalidCredentials, .integrityFailure].contains(denial.reason) {
            deps.events.emit(
                SecurityEvent(
                    type: "dev.sealgate.request.denied", subject: principal?.tenant.rawValue, time: deps.now(),
                    data: ["reason": denial.reason.rawValue, "route": kind, "request_id": requestID]))
        }
        deps.logger.notice(
            "request denied",
            metadata: [
                "request.id": "\(requestID)", "tenant.id": "\(principal?.tenant.rawValue ?? "-")",
                "policy.reason": "\(denial.reason.rawValue)", "request.kind": "\(kind)",
            ])
        return GatewayFailure(denial: denial, auditIndex: index)
    }

    /// Appends a success record; a failure to audit turns the request into a denial (no answer without a record).
    func commit(_ record: AuditRecord) async -> Result<UInt64, GatewayFailure> {
        var record = record
        record.policyDigest = policyDigest
        do {
            let index = try await deps.audit.append(record)
            if record.kind != "chat_completion" {
                deps.metrics.increment("sealgate_requests_total", labels: [("route", record.kind), ("outcome", record.outcome)])
            } else if record.outcome != "allowed" {
                deps.metrics.increment("sealgate_stream_failures_total", labels: [("tenant", record.tenant)])
            }
            return .success(index)
        } catch {
            deps.logger.error("audit append failed", metadata: ["request.id": "\(record.requestID)"])
            deps.metrics.increment(
                "sealgate_denials_total",
                labels: [("reason", ReasonCode.auditUnavailable.rawValue), ("tenant", record.tenant), ("data_class", record.dataClass ?? "-"), ("route", record.kind)])
            return .failure(GatewayFailure(denial: Denial(.auditUnavailable, "The audit log is unavailable; the request was refused."), auditIndex: nil))
        }
    }

    /// A random request id.
    public static func newRequestID() -> String {
        Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
    }

    /// A per-tenant secret derived (HKDF-SHA256, `info` names its use) from the broker resource
    /// `<tenant>/secret/gateway-salt`: it exists only while that secret is leased, and shredding the tenant destroys it.
    func tenantSecret(_ tenant: TenantID, info: String) async -> SymmetricKey? {
        guard let secret = await deps.leases.secret("\(tenant)/secret/\(Self.tenantSecretName)") else { return nil }
        return HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret), salt: Data("sealgate-tenant-secret-v2".utf8), info: Data(info.utf8),
            outputByteCount: 32)
    }

    /// `hmac-sha256:<hex>` of the sorted items under the tenant's audit salt, so low-entropy values (collection
    /// names, chunk ids) cannot be confirmed by guessing; plain SHA-256 only when no key is leased.
    func auditDigest(_ items: [String], tenant: TenantID) async -> String {
        let joined = Data(items.sorted().joined(separator: "\n").utf8)
        guard let salt = await tenantSecret(tenant, info: "audit-salt") else { return Gateway.digest(items) }
        return "hmac-sha256:" + Hex.encode(HMAC<SHA256>.authenticationCode(for: joined, using: salt))
    }

    /// The redactor of a tenant, with its hash-token key when the tenant's keys are leased.
    func redactor(for tenant: TenantID) async -> any OutputRedactor {
        let key = await tenantSecret(tenant, info: "redaction-token")
        return deps.redactors.redactor(tenant: tenant, tokenKey: key.map { $0.withUnsafeBytes { Data($0) } })
    }

    static func digest(_ items: [String]) -> String {
        "sha-256:" + Hex.encode(SHA256.hash(data: Data(items.sorted().joined(separator: "\n").utf8)))
    }
}

/// Records key-lease decisions (attestation and release) as audit records and metrics.
///
/// Separate from ``Gateway`` because the lease manager exists before the gateway that uses it.
public struct LeaseAuditor: Sendable {
    let audit: any AuditSink
    let metrics: any MetricsRecorder
    let policyDigest: String
    let now: @Sendable () -> Date
    let events: any SecurityEventSink

    public init(
        audit: any AuditSink, metrics: any MetricsRecorder, events: any SecurityEventSink = NoSecurityEvents(),
        configuration: Configuration, now: @escaping @Sendable () -> Date
    ) {
        self.events = events
        self.audit = audit
        self.metrics = metrics
        self.policyDigest = ConfigLoader.policyDigest(configuration)
        self.now = now
    }

    /// Appends the decision's audit record and counts it in `sealgate_key_release_total`.
    public func record(_ event: LeaseEvent) async {
        let tenant = event.tenant
        var record = AuditRecord(
            kind: "key_lease", time: now(), requestID: Gateway.newRequestID(), tenant: tenant, principal: "gateway",
            outcome: event.decision.allowed ? "allowed" : "denied",
            reason: event.decision.allowed ? nil : event.decision.reason.rawValue)
        record.dataClass = event.resource.flatMap(ResourcePath.init)?.dataClass.rawValue
        record.rule = event.decision.rule
        record.attestationStatus = event.decision.result?.status.rawValue
        record.attestationResultDigest = event.decision.result?.digest
        record.referenceValueSet = event.decision.result?.referenceValueSet
        record.policyDigest = policyDigest
        if event.decision.allowed && !event.keyIDs.isEmpty { record.keyIDs = event.keyIDs }
        let index = try? await audit.append(record)
        var data = [
            "tee": event.tee.rawValue, "decision": event.decision.allowed ? "granted" : "denied",
            "reason": event.decision.reason.rawValue, "rule": event.decision.rule,
        ]
        if let result = event.decision.result {
            data["status"] = result.status.rawValue
            data["result_digest"] = result.digest
            data["reference_value_set"] = result.referenceValueSet ?? ""
            data["measurement"] = result.measurement
        }
        if let index { data["audit_index"] = String(index) }
        if let resource = event.resource {
            data["resource"] = resource
            if !event.keyIDs.isEmpty { data["key_ids"] = event.keyIDs.joined(separator: ",") }
            events.emit(
                SecurityEvent(type: event.decision.allowed ? "dev.sealgate.key.granted" : "dev.sealgate.key.denied", subject: tenant, time: now(), data: data))
        } else {
            metrics.increment(
                "sealgate_attestation_total",
                labels: [("tee", event.tee.rawValue), ("status", event.decision.result?.status.rawValue ?? "none"), ("reason", event.decision.reason.rawValue)])
            events.emit(SecurityEvent(type: "dev.sealgate.attestation.result", time: now(), data: data))
            if event.tee.rawValue == "mock" {
                events.emit(
                    SecurityEvent(
                        type: "dev.sealgate.attestation.mock_evidence", time: now(),
                        data: ["note": "mock (software-signed) evidence was presented; acceptable for development only", "decision": data["decision"] ?? ""]))
            }
        }
        metrics.increment(
            "sealgate_key_release_total",
            labels: [
                ("tenant", tenant), ("resource_type", event.resourceType),
                ("decision", event.decision.allowed ? "granted" : "denied"), ("reason", event.decision.reason.rawValue),
                ("tee", event.tee.rawValue),
            ])
    }
}
