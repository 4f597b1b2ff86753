import Attestation
import Crypto
import Foundation
import KeyBroker
import KeyLease
import Logging
import ModelLoader
import ReleasePolicy
import SealgateCore
import SealgateTestSupport
import Sigstore
import StorageSQLite
import Synchronization

/// A real broker on a SQLite file with model keys, a mock TEE that attests to it, and model directories signed
/// with a real P-256 key as OpenSSF model signing v1.0 does (a DSSE in-toto statement in a v0.3 bundle).
final class ModelFixture: Sendable {
    let broker: KeyBroker
    let store: SQLiteBrokerStore
    let tee: MockTEE
    let admin: AdminCredential
    let signer = P256.Signing.PrivateKey()
    let root: URL
    let events = Events()

    static let files: [(String, Data)] = {
        var generator = SystemRandomNumberGenerator()
        let weights = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return [
            ("config.json", Data(#"{"layers": 2}"#.utf8)), ("weights.bin", weights), ("tokenizer/vocab.txt", Data("[PAD]\nhello\nworld\n".utf8)),
            ("empty.txt", Data()),
        ]
    }()

    init(policies: String = "[]") async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        tee = MockTEE(
            signingKey: P256.Signing.PrivateKey(),
            measurement: MockMeasurement(executableDigest: String(repeating: "aa", count: 48), policyDigest: String(repeating: "bb", count: 32)))
        let values = ReferenceValues(
            sets: [ReferenceValueSet(id: "proxy", tee: .mock, measurements: [tee.measurement.measurement], minSVN: 1)], acceptMockEvidence: true,
            mockSigners: [tee.signingKey.publicKey.pemRepresentation])
        store = try await SQLiteBrokerStore(path: root.path + "/broker.sqlite", logger: Logger(label: "test"))
        let events = self.events
        broker = KeyBroker(
            verifiers: [], referenceValues: values, policies: try PolicySet(try ReleasePolicyLoader.decode(Data(policies.utf8))), store: store,
            protector: try MasterKey(raw: Data(repeating: 7, count: 32)), tokenKey: P256.Signing.PrivateKey(), tokenTTL: 60,
            onEvent: { e in events.withLock { $0.append("\(e.kind.rawValue) \(e.resource ?? "-") \(e.decision.reason)") } })
        admin = AdminCredential(name: "test-admin", tokenSHA256: "", roles: [.admin], createdAt: Date())
        try await broker.provision(tenant: TenantID(unchecked: "acme"), dataClass: DataClass(unchecked: "internal"))
    }

    /// Closes the broker's database and removes the fixture's directory (models, signatures, the database).
    func close() async {
        await store.close()
        try? FileManager.default.removeItem(at: root)
    }

    /// A leased-key source as `tee-proxy` builds it: the mock TEE attesting through the in-process broker client.
    var keys: LeaseModelKeySource {
        LeaseModelKeySource(leases: LeaseManager(client: InProcessBrokerClient(broker: broker), attester: tee, logger: Logger(label: "test")))
    }

    func trust() throws -> ModelSignatureVerifier.Trust { .key(try SigstoreKey(pem: signer.publicKey.pemRepresentation)) }

    /// Writes the model files into a new directory; returns it.
    func modelDirectory(_ name: String, files: [(String, Data)] = ModelFixture.files) throws -> URL {
        let dir = root.appendingPathComponent(name)
        for (path, data) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        return dir
    }

    /// An OMS v1.0 bundle over `files` (in this order), signed by `key`.
    static func bundle(_ files: [(String, Data)], key: P256.Signing.PrivateKey) throws -> Data { try OMSTestSigner.bundle(files, key: key) }

    /// Creates the model key, signs and seals a model directory as `sealgate model seal` does; returns the sealed directory.
    func sealed(_ name: String, model: String = "m1", files: [(String, Data)] = ModelFixture.files, chunkSize: Int = 4096) async throws -> URL {
        let resource = "acme/model/\(model)"
        _ = await broker.createModelKey(resource: resource, by: admin)
        let dir = try modelDirectory(name + "-plain", files: files)
        let bundle = try Self.bundle(files, key: signer)
        guard case .verified(let resources) = ModelSignatureVerifier(trust: try trust()).verify(bundleJSON: bundle, directory: dir) else {
            throw ModelLoadError(.signatureInvalid, "fixture signature")
        }
        let dataKey = SymmetricKey(size: .bits256)
        guard case .success(let wrapped) = await broker.wrapModelDataKey(resource: resource, dataKey: dataKey.withUnsafeBytes { Data($0) }, by: admin),
            let wrappedKey = Base64URL.decode(wrapped), let keyResource = ModelKeyResource(resource)
        else { throw ModelLoadError(.keyDenied, "fixture wrap") }
        let out = root.appendingPathComponent(name)
        _ = try ModelSealer(keyResource: keyResource, chunkSize: chunkSize).seal(
            directory: dir, bundleJSON: bundle, resources: resources, dataKey: dataKey, wrappedDataKey: wrappedKey, output: out)
        return out
    }

    static func hex(_ data: Data) -> String { Hex.encode(data) }
}

/// Broker events as `<kind> <resource> <reason>` lines.
final class Events: Sendable {
    let list = Mutex<[String]>([])
    func withLock<T>(_ body: (inout [String]) -> T) -> T { list.withLock { body(&$0) } }
}

/// The reason of a refused load, or nil when it loaded.
func refusal(_ result: Result<ProtectedModel, ModelLoadError>) -> ModelLoadReason? {
    if case .failure(let error) = result { return error.reason }
    return nil
}

/// Runs `body` with a fresh fixture and closes its database whatever happens.
func withFixture(policies: String = "[]", _ body: (ModelFixture) async throws -> Void) async throws {
    let fixture = try await ModelFixture(policies: policies)
    do { try await body(fixture) } catch {
        await fixture.close()
        throw error
    }
    await fixture.close()
}
