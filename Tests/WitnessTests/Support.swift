import AsyncHTTPClient
import Audit
import Foundation
import NIOCore
import SealgateCore
import Testing

/// Temporary directories, logs and HTTP helpers for the witness tests.
enum WitnessFixture {
    static let time: UInt64 = 1_767_225_600
    static let clock: @Sendable () -> Date = { Date(timeIntervalSince1970: TimeInterval(time)) }
    static let origin = "test.sealgate.local/audit"

    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "witness-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A log under `dir`; with `keyFrom`, it signs with that log's key (a fork: same origin and key, its own history).
    static func log(_ dir: String, origin: String = origin, keyFrom other: AuditLog? = nil) throws -> AuditLog {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if let other {
            try FileManager.default.copyItem(atPath: other.directory + "/checkpoint.key", toPath: dir + "/checkpoint.key")
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir + "/checkpoint.key")
        }
        return try AuditLog(directory: dir, origin: origin, checkpointEvery: 1_000_000)
    }

    /// Appends `count` records tagged `tag` and returns the signed checkpoint of the new size.
    static func grow(_ log: AuditLog, by count: Int, tag: String) async throws -> String {
        for n in 0..<count {
            _ = try await log.append(
                AuditRecord(kind: .load, time: Date(timeIntervalSince1970: 0), requestID: "\(tag)-\(n)", tenant: tag, principal: "p", outcome: .allowed))
        }
        return try #require(try await log.checkpointIfNeeded())
    }

    /// An add-checkpoint body for `note` of `log` from `old` (with the log's consistency proof).
    static func body(_ log: AuditLog, note: String, old: Int) async throws -> Data {
        let size = try Checkpoint(body: try log.verifier.open(note)).size
        var proof: [Data] = []
        if old > 0, old <= size { proof = try await log.consistencyProof(from: old, to: size).proof }
        return AddCheckpointRequest(oldSize: old, proof: proof, note: note).body
    }

    struct Answer {
        let status: UInt
        let contentType: String
        let body: String
    }

    static func post(port: Int, _ body: Data) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/add-checkpoint")
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return Answer(status: response.status.code, contentType: response.headers.first(name: "Content-Type") ?? "", body: text)
    }

    /// The `reason` of a problem body (its type's last component).
    static func reason(_ answer: Answer) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
            let type = object["type"] as? String
        else { return nil }
        return type.components(separatedBy: ":").last
    }
}

/// Collects security events in memory.
final class CapturedEvents: SecurityEventSink, @unchecked Sendable {
    private let lock = NSLock()
    private var events: [SecurityEvent] = []

    func emit(_ event: SecurityEvent) { lock.withLock { events.append(event) } }

    var all: [SecurityEvent] { lock.withLock { events } }
}
