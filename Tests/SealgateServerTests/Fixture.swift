import Audit
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SealgateServer
import Synchronization
import Testing

/// A clock tests move by hand.
final class TestClock: Sendable {
    let current: Mutex<Date>
    /// Starts at `start`, by default the wall clock's present.
    init(start: Date = Date()) { current = Mutex(start) }
    var now: @Sendable () -> Date { { self.current.withLock { $0 } } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Collects every log message and its metadata, to prove no plaintext reaches logs.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])
    var all: String { lines.withLock { $0.joined(separator: "\n") } }

    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.lines.withLock { $0.append("\(event.level) \(event.message) \(merged) \(event.source)") }
        }
    }
}

/// Known test credentials.
enum Keys {
    static let acme = "sg_test_acme_app_key_0123456789"
    static let acmeReader = "sg_test_acme_reader_key_0123456789"
    static let globex = "sg_test_globex_app_key_0123456789"
}

/// A configuration with a full-access principal per tenant, a restricted reader, a small body limit,
/// and optional extra model profiles.
func testConfiguration(bodyLimit: Int = 4096, extraModels: String = "", extraClassModels: String = "", retrieval: String = "") -> String {
    """
    \(retrieval)
    server:
      body_limit_bytes: \(bodyLimit)
    data_classes:
      - name: public
        models: [extractive\(extraClassModels)]
        redaction_profile: basic
        allow_mock_evidence: true
      - name: internal
        models: [extractive\(extraClassModels)]
        redaction_profile: basic
        allow_mock_evidence: true
      - name: confidential
        models: [extractive]
        redaction_profile: all
        allow_mock_evidence: true
      - name: restricted
        models: [extractive]
        redaction_profile: all
        allow_mock_evidence: true
    models:
      - id: extractive
        type: builtin
    \(extraModels)
    tenants:
      - id: acme
        principals:
          - id: acme-app
            api_key_sha256: \(Gateway.hashAPIKey(Keys.acme))
            read: ["*"]
            write: ["*"]
          - id: acme-reader
            api_key_sha256: \(Gateway.hashAPIKey(Keys.acmeReader))
            read: [handbook]
            write: []
            data_classes: [public, internal]
      - id: globex
        principals:
          - id: globex-app
            api_key_sha256: \(Gateway.hashAPIKey(Keys.globex))
            read: ["*"]
            write: ["*"]
    """
}

/// A fresh data directory with a configuration and a small stand-in executable to measure.
struct Fixture {
    let dir: String
    let clock = TestClock()
    let logs = LogCapture()

    init(config: String = testConfiguration()) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("sealgate-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try config.write(toFile: dir + "/sealgate.yaml", atomically: true, encoding: .utf8)
        try "sealgate test executable".write(toFile: dir + "/exe", atomically: true, encoding: .utf8)
    }

    func options(demo: Bool = false, leaseSeconds: Double? = nil) -> ServeOptions {
        ServeOptions(
            dataDir: dir, port: 0, demo: demo, now: clock.now, executablePath: dir + "/exe", logger: logs.logger,
            leaseSeconds: leaseSeconds, renewLeases: false)
    }

    /// The audit leaves (`{"index", "record"}`), parsed from the log's entries file.
    func auditRecords() throws -> [[String: Any]] {
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/audit/entries")))
        return AuditEncoding.splitEntries(raw).entries.compactMap {
            (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any]
        }
    }

    /// The audit record at `index`.
    func auditRecord(_ index: Int) throws -> [String: Any]? {
        try auditRecords().first { ($0["index"] as? Int) == index }?["record"] as? [String: Any]
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

extension TestClientProtocol {
    /// Sends JSON with a bearer key.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, key: String?, json: String? = nil, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var object: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]) ?? [:] }
    var auditIndex: Int? { headers[HTTPField.Name("Sealgate-Audit-Index")!].flatMap(Int.init) }
    var problemType: String? { object["type"] as? String }
}

/// Builds a gateway from the fixture and runs `body` against it over real HTTP on loopback.
func withLiveGateway(
    _ fixture: Fixture, options: ServeOptions? = nil, _ body: @Sendable (SealgateInstance, any TestClientProtocol) async throws -> Void
) async throws {
    let instance = try await Sealgate.build(options ?? fixture.options())
    try await instance.application.test(.live) { client in try await body(instance, client) }
}

/// JSON for a document.
func documentJSON(id: String? = nil, title: String = "Doc", text: String, dataClass: String = "internal") -> String {
    var object: [String: Any] = ["title": title, "text": text, "data_class": dataClass]
    if let id { object["id"] = id }
    let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

func queryJSON(_ question: String, dataClass: String = "internal", scope: [String] = ["handbook"], model: String? = nil, topK: Int? = nil) -> String {
    var object: [String: Any] = ["question": question, "data_class": dataClass, "scope": ["collections": scope]]
    if let model { object["model_policy"] = model }
    if let topK { object["top_k"] = topK }
    let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    return String(decoding: data, as: UTF8.self)
}
