import Attestation
import Crypto
import Foundation
import Gateway
import KeyBroker
import KeyLease
import ReleasePolicy
import SealgateConfig
import SealgateCore
import StorageSQLite

extension Sealgate {
    /// The embedded default: the same ``KeyBroker`` as `sealgate broker`, in-process, with its own SQLite file and
    /// master key under `<data-dir>/broker`. Each configured tenant gets a KEK per data class and its gateway secret;
    /// each data class's `allow_mock_evidence` becomes a release policy.
    static func embeddedBroker(
        _ config: Configuration, tee: MockTEE, measurement: MockMeasurement, options: ServeOptions
    ) async throws -> (KeyBroker, SQLiteBrokerStore) {
        var referenceValues = try options.referenceValues
            ?? loadReferenceValues(config, measurement: measurement, signer: tee.signingKey.publicKey, options: options)
        if referenceValues.mockSigners.isEmpty { referenceValues.mockSigners = [tee.signingKey.publicKey.pemRepresentation] }
        let base = options.referenceValues == nil ? config.attestation.referenceValues.map { URL(fileURLWithPath: $0).deletingLastPathComponent() } : nil
        do { referenceValues = try KeyBroker.verifiedReferenceValues(referenceValues, baseDirectory: base) } catch {
            throw SealgateError(.attestationFailed, "reference values: \(error)")
        }
        let store = try await SQLiteBrokerStore(path: options.dataDir + "/broker/broker.sqlite", logger: options.logger)
        let broker = KeyBroker(
            verifiers: try SealgateBroker.verifiers(tdxCollateralPath: nil, amdCertChainPaths: []), referenceValues: referenceValues,
            policies: try PolicySet(try classPolicies(config)), store: store,
            protector: try MasterKey.load(path: options.dataDir + "/broker/master.key"),
            tokenKey: P256.Signing.PrivateKey(), tokenTTL: config.lease.ttlSeconds, now: options.now)
        // Records an earlier release kept in clear are sealed as found (once: in a database with a sealed record a
        // record in clear refuses start). Its policies and reference values come from the configuration, never from
        // the store, so what it adopts decides nothing here.
        _ = try await broker.establishStoredRecords(.adoptAny)
        for tenant in config.tenants {
            for rule in config.dataClasses { try await broker.provision(tenant: tenant.id, dataClass: rule.name) }
            try await broker.provisionSecret(tenant: tenant.id, name: KeyRing.tenantSecretName)
        }
        return (broker, store)
    }

    /// One release policy per data class from the configuration's `allow_mock_evidence`: hardware evidence that
    /// appraised `affirming` always passes; mock evidence (`warning`) only where the class allows it.
    static func classPolicies(_ config: Configuration) throws -> [ReleasePolicyDocument] {
        let affirming = #"{"field": "status", "equals": "affirming"}"#
        let mock = #"{"allOf": [{"field": "tee", "equals": "mock"}, {"field": "status", "equals": "warning"}]}"#
        let documents = config.dataClasses.map { rule -> String in
            let body = rule.allowMockEvidence
                ? #"{"anyOf": [\#(affirming), \#(mock)], "name": "affirming_or_mock"}"#
                : #"{"field": "status", "equals": "affirming", "reason": "mock_evidence_not_permitted", "name": "allow_mock_evidence"}"#
            return #"{"id": "data_classes.\#(rule.name)", "applies_to": {"data_class": "\#(rule.name)", "resource_type": "kek"}, "rule": \#(body)}"#
        }
        return try ReleasePolicyLoader.decode(Data(("[" + documents.joined(separator: ",") + "]").utf8))
    }

    /// The attester `--attester` (else `attestation.tee`) names: the mock TEE, or Linux configfs-tsm.
    static func makeAttester(_ options: ServeOptions, configuration: Configuration, tee: MockTEE) throws -> any Attester {
        let kind = options.attester ?? configuration.attestation.tee
        switch kind {
        case "mock": return tee
        case "configfs-tsm":
            var certificates: ConfigfsTSMAttester.SNPCertificates?
            if let vcek = options.snpVCEKPath, let chain = options.snpCertChainPath {
                guard let vcekPEM = try? String(contentsOfFile: vcek, encoding: .utf8),
                    let chainPEM = try? String(contentsOfFile: chain, encoding: .utf8)
                else { throw SealgateError(.attestationFailed, "cannot read the SNP certificates \(vcek), \(chain)") }
                certificates = ConfigfsTSMAttester.SNPCertificates(vcekPEM: vcekPEM, certChainPEM: chainPEM)
            }
            return try ConfigfsTSMAttester(root: options.tsmRoot, certificates: certificates)
        default: throw SealgateError(.attestationFailed, "unknown attester \(kind) (mock or configfs-tsm)")
        }
    }

    /// Reference values from the configured file, or — without one — development enrolment: the broker measures
    /// the binary it runs in (independently of the evidence) and accepts exactly that measurement.
    static func loadReferenceValues(
        _ config: Configuration, measurement: MockMeasurement, signer: P256.Signing.PublicKey, options: ServeOptions
    ) throws -> ReferenceValues {
        if let path = config.attestation.referenceValues {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SealgateError(.attestationFailed, "cannot read reference values \(path)")
            }
            do {
                if path.hasSuffix(".json") { return try JSONDecoder().decode(ReferenceValues.self, from: data) }
                return try YAMLDecoderShim.decode(ReferenceValues.self, from: data)
            } catch {
                throw SealgateError(.attestationFailed, "reference values \(path) are malformed: \(error)")
            }
        }
        let enrolled = try Sealgate.measurement(config, executablePath: options.executablePath)
        return ReferenceValues(
            sets: [ReferenceValueSet(id: "dev-enrolled-\(enrolled.measurement.prefix(12))", tee: .mock, measurements: [enrolled.measurement], minSVN: 1)],
            acceptMockEvidence: true, mockSigners: [signer.pemRepresentation])
    }

    /// Reference values a standalone broker needs to accept this gateway's mock evidence: its measurement and the
    /// public key of `<data-dir>/mock-tee/signing-key.pem` (created if absent).
    public static func developmentReferenceValues(measurement: MockMeasurement, dataDir: String, setID: String) throws -> ReferenceValues {
        let key = try loadOrCreateSigningKey(path: dataDir + "/mock-tee/signing-key.pem")
        return ReferenceValues(
            sets: [ReferenceValueSet(id: setID, tee: .mock, measurements: [measurement.measurement], minSVN: 1)], acceptMockEvidence: true,
            mockSigners: [key.publicKey.pemRepresentation])
    }

    /// The mock TEE's development signing key (PEM, mode 0600), created on first use.
    static func loadOrCreateSigningKey(path: String) throws -> P256.Signing.PrivateKey {
        let fm = FileManager.default
        if let data = fm.contents(atPath: path) {
            do { return try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self)) } catch {
                throw SealgateError(.attestationFailed, "mock TEE key \(path) is malformed")
            }
        }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        guard fm.createFile(atPath: path, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SealgateError(.attestationFailed, "cannot write mock TEE key \(path)")
        }
        return key
    }

    /// The largest init-data document read (64 KiB; CoCo init-data is a few kB).
    static let maximumInitDataSize = 64 << 10

    /// Reads an init-data document (`--init-data`): JSON when the name ends in `.json`, else TOML, at most
    /// ``maximumInitDataSize`` bytes of UTF-8, and its `image_digest` (if any) must be readable.
    public static func loadInitData(path: String) throws -> InitData {
        guard let data = FileManager.default.contents(atPath: path) else { throw SealgateError(.attestationFailed, "cannot read init-data \(path)") }
        guard data.count <= maximumInitDataSize, let body = String(data: data, encoding: .utf8) else {
            throw SealgateError(.attestationFailed, "init-data \(path) is not UTF-8 text of at most \(maximumInitDataSize) bytes")
        }
        let initData = InitData(format: path.hasSuffix(".json") ? "json" : "toml", body: body)
        do { _ = try initData.imageDigest() } catch let denial as ReleaseDecision {
            throw SealgateError(.attestationFailed, "init-data \(path) cannot be read (\(denial.rule))")
        }
        return initData
    }
}
