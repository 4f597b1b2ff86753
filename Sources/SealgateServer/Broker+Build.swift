import Attestation
import AttestationAzure
import AttestationNitro
import AttestationSEVSNP
import AttestationTDX
import Audit
import Dashboard
import Crypto
import Foundation
import HTTPHardening
import Hummingbird
import HummingbirdCore
import KeyBroker
import Logging
import ReferenceImages
import ReleasePolicy
import SealgateCore
import SecurityEvents
import ServiceLifecycle
import StorageSQLite

/// How to run `sealgate broker`, plus injection points for tests.
public struct BrokerOptions: Sendable {
    public var host: String
    public var port: Int
    /// SQLite store, master key, token key, audit log, bootstrap admin token.
    public var dataDir: String
    /// A reference-values file (JSON or YAML); replaces the stored ones at start.
    public var referenceValuesPath: String?
    /// A release-policy file (JSON); its policies are stored at start, replacing ones with the same id.
    public var policiesPath: String?
    /// An operational access policy (JSON, docs/broker.md): roles per admin action, quorum, break-glass.
    public var operationsPolicyPath: String?
    /// Intel PCS collateral (TCB Info, QE Identity, CRLs) for TDX evidence; without it TDX TCB status is not rated.
    public var tdxCollateralPath: String?
    /// AMD `cert_chain` PEM files (ASK/ASVK + ARK) for Azure SNP vTPM evidence that carries none.
    public var amdCertChainPaths: [String] = []
    /// Serve over TLS with this certificate chain and private key (PEM files); plain HTTP without them.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Mutual TLS: resource requests must come over TLS with the workload certificate of the token's key
    /// (`--require-client-cert`; needs TLS).
    public var requireClientCertificate = false
    public var tokenTTL: TimeInterval
    public var bodyLimit: Int
    /// Listener deadlines and connection limit (docs/listener.md).
    public var listener = ListenerLimits()
    public var now: @Sendable () -> Date
    public var logger: Logger
    /// A PostgreSQL URL (`--database`): the store, sessions and token key shared by several brokers; `nil`: the
    /// SQLite file in the data directory.
    public var databaseURL: String?
    /// This broker's name among several (`--replica`): its audit log's origin is `sealgate-broker/<replica>`.
    public var replica: String?
    /// Seal the records an earlier release left in clear, if they are still what the start-up refusal described
    /// by this digest (`--adopt-unsealed-records DIGEST`; ``KeyBroker/establishStoredRecords(_:)``).
    public var adoptUnsealedDigest: String?

    public init(
        host: String = "127.0.0.1", port: Int = 8081, dataDir: String = ".sealgate-broker", referenceValuesPath: String? = nil,
        policiesPath: String? = nil, tokenTTL: TimeInterval = 300, bodyLimit: Int = 1 << 20, now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "sealgate-broker")
    ) {
        self.host = host
        self.port = port
        self.dataDir = dataDir
        self.referenceValuesPath = referenceValuesPath
        self.policiesPath = policiesPath
        self.tokenTTL = tokenTTL
        self.bodyLimit = bodyLimit
        self.now = now
        self.logger = logger
    }
}

/// A built standalone broker.
public struct BrokerInstance: Sendable {
    public let application: Application<RouterResponder<BrokerRequestContext>>
    public let broker: KeyBroker
    public let metrics: PrometheusRecorder
    public let auditLog: AuditLog
    /// `<data-dir>/admin-token` when this start created the bootstrap admin credential.
    public let bootstrapTokenPath: String?
}

/// The broker's composition root.
public enum SealgateBroker {
    /// The hardware verifiers with their pinned vendor roots (no collateral: TDX TCB status is not rated).
    public static var hardwareVerifiers: [any AttestationVerifier] { [SNPAttestationVerifier(), TDXAttestationVerifier(), NitroAttestationVerifier()] }

    /// The broker's verifiers: SEV-SNP, TDX (rated against the given Intel collateral), Nitro, and Azure vTPM over SNP
    /// and TDX. Collateral and chains are inputs, never trust: every signature still chains to a pinned root.
    public static func verifiers(tdxCollateralPath: String?, amdCertChainPaths: [String]) throws -> [any AttestationVerifier] {
        try verifiers(tdxCollateral: tdxCollateralPath.map { try TDXCollateral.load(directory: $0) }, amdCertChainPaths: amdCertChainPaths)
    }

    /// ``verifiers(tdxCollateralPath:amdCertChainPaths:)`` with the collateral already read.
    static func verifiers(tdxCollateral: TDXCollateral?, amdCertChainPaths: [String]) throws -> [any AttestationVerifier] {
        var tdx = TDXAttestationVerifier()
        tdx.collateral = tdxCollateral
        let chains = try amdCertChainPaths.map { path -> String in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw SealgateError(.attestationFailed, "cannot read the AMD cert_chain \(path)")
            }
            return text
        }
        return [
            SNPAttestationVerifier(), tdx, NitroAttestationVerifier(), try AzureVTPMVerifier(certChainPEMs: chains),
            AzureVTPMVerifier(tdx: tdx),
        ]
    }

    /// Reads a reference-values file (JSON, or YAML by extension).
    public static func loadReferenceValues(path: String) throws -> ReferenceValues {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SealgateError(.attestationFailed, "cannot read reference values \(path)")
        }
        do {
            let values: ReferenceValues =
                path.hasSuffix(".json") ? try JSONDecoder().decode(ReferenceValues.self, from: data) : try YAMLDecoderShim.decode(ReferenceValues.self, from: data)
            return try KeyBroker.verifiedReferenceValues(values, baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent())
        } catch let error as ReferenceImageError {
            throw SealgateError(.attestationFailed, "reference values \(path) refused: \(error)")
        } catch {
            throw SealgateError(.attestationFailed, "reference values \(path) are malformed: \(error)")
        }
    }

    /// The broker's token signing key (PEM, mode 0600), created on first start so tokens survive restarts.
    static func tokenKey(path: String) throws -> P256.Signing.PrivateKey {
        let fm = FileManager.default
        if fm.fileExists(atPath: path), let mode = (try? fm.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber,
            mode.intValue & 0o077 != 0
        {
            throw SealgateError(.storageUnavailable, "broker token key \(path) must have mode 0600")
        }
        if let data = fm.contents(atPath: path) {
            do { return try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self)) } catch {
                throw SealgateError(.storageUnavailable, "broker token key \(path) is malformed")
            }
        }
        let key = P256.Signing.PrivateKey()
        guard fm.createFile(atPath: path, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SealgateError(.storageUnavailable, "cannot write broker token key \(path)")
        }
        return key
    }

    /// The broker's listener: plain HTTP, or HTTPS that asks clients for workload certificates (verified against the
    /// workload CA; required on resource requests with `--require-client-cert`).
    static func brokerServer(_ options: BrokerOptions, broker: KeyBroker, metrics: PrometheusRecorder) throws -> HTTPServerBuilder {
        let listener = ListenerSettings.broker(options.listener, metrics: metrics)
        guard let certificate = options.tlsCertificatePath, let key = options.tlsKeyPath else {
            if options.requireClientCertificate { throw SealgateError(.malformedRequest, "--require-client-cert needs --tls-cert and --tls-key") }
            return try Sealgate.serverBuilder(certificatePath: options.tlsCertificatePath, keyPath: options.tlsKeyPath, listener: listener)
        }
        return try MutualTLS.brokerServer(.guardedHTTP1(listener), tls: try TLSFiles.server(certificatePath: certificate, keyPath: key), broker: broker)
    }

    /// Builds the standalone broker: store, master key, broker actor, audit log, HTTP routes.
    public static func build(_ options: BrokerOptions) async throws -> BrokerInstance {
        let logger = options.logger
        let dir = options.dataDir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let metrics = PrometheusRecorder(ring: DashboardRing(now: options.now))
        let audit = try AuditLog(directory: dir + "/audit", origin: options.replica.map { "sealgate-broker/" + $0 } ?? "sealgate-broker")
        let events = try LineEventSink.file(path: dir + "/security-events.jsonl", source: "/sealgate/broker")
        let override = options.referenceValuesPath != nil
        let values = try options.referenceValuesPath.map(loadReferenceValues(path:)) ?? ReferenceValues(sets: [], acceptMockEvidence: false)
        var filePolicies: [ReleasePolicyDocument] = []
        if let path = options.policiesPath {
            guard let data = FileManager.default.contents(atPath: path) else { throw SealgateError(.malformedRequest, "cannot read policies \(path)") }
            filePolicies = try ReleasePolicyLoader.decode(data)
        }
        var operationsPolicy = OperationsPolicy.default
        if let path = options.operationsPolicyPath {
            guard let data = FileManager.default.contents(atPath: path) else { throw SealgateError(.malformedRequest, "cannot read the operations policy \(path)") }
            do { operationsPolicy = try OperationsPolicy.decode(data) } catch {
                throw SealgateError(.malformedRequest, "operations policy \(path) is invalid: \(error.problems.joined(separator: "; "))")
            }
        }
        let recorder = BrokerRecorder(audit: audit, metrics: metrics, events: events, now: options.now, logger: logger)
        let collateral = try options.tdxCollateralPath.map { try TDXCollateral.load(directory: $0) }
        let verifiers = try verifiers(tdxCollateral: collateral, amdCertChainPaths: options.amdCertChainPaths)
        if let path = options.tdxCollateralPath, let collateral, collateral.pckCRL == nil || collateral.rootCACRL == nil {
            // Rated without revocation: a revoked PCK or intermediate still appraises by its TCB level.
            logger.warning(
                "TDX collateral without both CRLs: revocation of PCK certificates is not checked",
                metadata: ["tdx.collateral": "\(path)", "tdx.pck_crl": "\(collateral.pckCRL != nil)", "tdx.root_ca_crl": "\(collateral.rootCACRL != nil)"])
        }
        // Keys first: a refused key file must not leave an open database behind.
        let protector = try MasterKey.load(path: dir + "/master.key")
        let storage = try await brokerStorage(options, protector: protector)
        let store = storage.store
        let broker = KeyBroker(
            verifiers: verifiers, referenceValues: values, policies: try PolicySet([]), store: store, protector: protector,
            tokenKey: storage.tokenKey, tokenTTL: options.tokenTTL, now: options.now, sessions: storage.sessions, onEvent: { await recorder.record($0) })
        await broker.setOperationsPolicy(operationsPolicy)
        var bootstrapPath: String?
        do {
            let records = try await broker.load(
                overrideReferenceValues: override, unsealed: options.adoptUnsealedDigest.map { .adopt(digest: $0) } ?? .refuse)
            if !records.adopted.isEmpty || !records.dropped.isEmpty {
                logger.warning(
                    "sealed the records an earlier release kept in clear, as the operator vouched for them",
                    metadata: ["broker.adopted": "\(records.adopted)", "broker.dropped": "\(records.dropped)"])
            }
            if !records.created.isEmpty { logger.notice("created the sealed records of a new database", metadata: ["broker.created": "\(records.created)"]) }
            if !records.ignored.isEmpty {
                logger.warning(
                    "rows in an earlier release's tables are not read (this database's records are sealed)", metadata: ["broker.ignored": "\(records.ignored)"])
            }
            if !filePolicies.isEmpty {
                let system = AdminCredential(name: "startup", tokenSHA256: "", roles: [.admin], createdAt: options.now())
                if case .failure(let denial) = await broker.putPolicies(filePolicies, by: system) {
                    throw SealgateError(.malformedRequest, "policies could not be stored: \(denial.reason)")
                }
            }
            if let token = try await broker.bootstrapAdmin() {
                let path = dir + "/admin-token"
                guard FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
                else { throw SealgateError(.storageUnavailable, "cannot write \(path)") }
                bootstrapPath = path
                logger.notice("created the bootstrap admin credential", metadata: ["admin.token_file": "\(path)"])
            }
        } catch {
            await storage.close()
            throw error
        }
        let referenceSets = await broker.referenceValues.sets.count
        let policyCount = await broker.policies.count
        logger.info(
            "broker ready",
            metadata: ["broker.issuer": "\(broker.issuer)", "broker.reference_sets": "\(referenceSets)", "broker.policies": "\(policyCount)"])

        let router = Router(context: BrokerRequestContext.self)
        router.add(middleware: ProblemMiddleware(metrics: metrics))
        var api = BrokerAPI(broker: broker, metrics: metrics, bodyLimit: options.bodyLimit)
        api.requireClientCertificate = options.requireClientCertificate
        api.authLimiter = RateLimiter(rate: 20, burst: 100, now: options.now)
        api.register(on: router)
        api.registerAdmin(on: router)
        api.registerWorkloadAdmin(on: router)
        api.registerDashboard(on: router)
        api.registerQuorum(on: router)
        let application = Application(
            router: router, server: try brokerServer(options, broker: broker, metrics: metrics),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "sealgate-broker"),
            services: [
                CheckpointService(log: audit, interval: 10, logger: logger),
                ShutdownService(logger: logger, message: "sealgate broker stopped: sessions forgotten, database closed") { await storage.close() },
            ],
            logger: logger)
        return BrokerInstance(application: application, broker: broker, metrics: metrics, auditLog: audit, bootstrapTokenPath: bootstrapPath)
    }
}

/// Turns broker decisions into audit records, metrics and security events (never key material).
public struct BrokerRecorder: Sendable {
    let audit: any AuditSink
    let metrics: any MetricsRecorder
    let events: any SecurityEventSink
    let now: @Sendable () -> Date
    let logger: Logger

    public init(
        audit: any AuditSink, metrics: any MetricsRecorder, events: any SecurityEventSink, now: @escaping @Sendable () -> Date,
        logger: Logger = Logger(label: "sealgate-broker")
    ) {
        self.audit = audit
        self.metrics = metrics
        self.events = events
        self.now = now
        self.logger = logger
    }

    public func record(_ event: BrokerEvent) async {
        let decision = event.decision
        let outcome: AuditOutcome = decision.allowed ? .allowed : .denied
        // Requests without a credential this broker issued are counted, not logged: anyone who can reach the port
        // could otherwise grow the durable audit log and the event stream at will.
        if decision.isUnauthenticated {
            let label = event.kind == .admin ? "sealgate_admin_actions_total" : event.kind == .attestation ? "sealgate_attestation_total" : "sealgate_key_release_total"
            switch event.kind {
            case .attestation:
                metrics.increment(label, labels: [("tee", event.tee), ("status", "none"), ("reason", decision.reason.rawValue)], by: 1)
            case .release:
                metrics.increment(
                    label,
                    labels: [
                        ("tenant", event.tenant), ("resource_type", event.resourceType), ("decision", "denied"),
                        ("reason", decision.reason.rawValue), ("tee", event.tee),
                    ], by: 1)
            case .admin:
                metrics.increment(label, labels: [("action", event.resourceType), ("outcome", outcome.rawValue), ("reason", decision.reason.rawValue)], by: 1)
            }
            return
        }
        var record = AuditRecord(
            kind: event.kind == .attestation ? .brokerAttestation : event.kind == .release ? .keyRelease : .keyAdmin,
            time: now(), requestID: Base64URL.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }), tenant: event.tenant,
            principal: event.principal, outcome: outcome, reason: decision.allowed ? nil : decision.reason.rawValue)
        record.rule = decision.rule
        record.attestationStatus = decision.result?.status.rawValue
        let resultDigest = decision.result?.digest  // one JSON encoding for the record and the event
        record.attestationResultDigest = resultDigest
        record.referenceValueSet = decision.result?.referenceValueSet
        if !event.keyIDs.isEmpty { record.keyIDs = event.keyIDs }
        if event.kind == .admin, let target = event.resource { record.keyIDs = [event.resourceType + ":" + target] }
        let index = try? await audit.append(record)
        var data = [
            "decision": decision.allowed ? "granted" : "denied", "reason": decision.reason.rawValue, "rule": decision.rule, "tee": event.tee,
        ]
        if let index { data["audit_index"] = String(index) }
        if let result = decision.result {
            data["status"] = result.status.rawValue
            data["result_digest"] = resultDigest ?? result.digest
            data["measurement"] = result.measurement
            data["reference_value_set"] = result.referenceValueSet ?? ""
        }
        if event.kind == .attestation, !decision.allowed {
            // The operator's view of a refusal: its cause as codes and the command that fixes it; never evidence content.
            var metadata: Logger.Metadata = ["attestation.tee": "\(event.tee)", "policy.reason": "\(decision.reason)", "policy.rule": "\(decision.rule)"]
            if !decision.causes.isEmpty { metadata["attestation.causes"] = "\(decision.causes.map(\.rawValue).joined(separator: ","))" }
            if let fix = AttestationRemedy.hint(for: decision.causes) { metadata["attestation.fix"] = "\(fix)" }
            logger.notice("attestation refused", metadata: metadata)
            if !decision.causes.isEmpty { data["causes"] = decision.causes.map(\.rawValue).joined(separator: ",") }
        }
        switch event.kind {
        case .attestation:
            let status = decision.result?.status.rawValue ?? "none"
            metrics.increment("sealgate_attestation_total", labels: [("tee", event.tee), ("status", status), ("reason", decision.reason.rawValue)], by: 1)
            events.emit(SecurityEvent(type: "dev.sealgate.attestation.result", time: now(), data: data))
            if event.tee == TEEType.mock.rawValue {
                events.emit(SecurityEvent(type: "dev.sealgate.attestation.mock_evidence", time: now(), data: ["decision": data["decision"] ?? ""]))
            }
        case .release:
            metrics.increment(
                "sealgate_key_release_total",
                labels: [
                    ("tenant", event.tenant), ("resource_type", event.resourceType), ("decision", decision.allowed ? "granted" : "denied"),
                    ("reason", decision.reason.rawValue), ("tee", event.tee),
                ], by: 1)
            data["resource"] = event.resource ?? ""
            if !event.keyIDs.isEmpty { data["key_ids"] = event.keyIDs.joined(separator: ",") }
            events.emit(
                SecurityEvent(type: decision.allowed ? "dev.sealgate.key.granted" : "dev.sealgate.key.denied", subject: event.tenant, time: now(), data: data))
        case .admin:
            metrics.increment(
                "sealgate_admin_actions_total", labels: [("action", event.resourceType), ("outcome", outcome.rawValue), ("reason", decision.reason.rawValue)], by: 1)
            data["action"] = event.resourceType
            data["target"] = event.resource ?? ""
            data["principal"] = event.principal
            events.emit(SecurityEvent(type: "dev.sealgate.key.admin", subject: event.tenant, time: now(), data: data))
        }
    }
}
