import Audit
import Foundation
import SealgateCore
import Testing

@Suite("Audit file: durable, hash-chained, torn tails recovered")
struct AuditTests {
    func tempPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)/audit.log").path
    }

    func record(_ n: Int) -> AuditRecord {
        AuditRecord(kind: "query", time: Date(timeIntervalSince1970: Double(n)), requestID: "r\(n)", tenant: "acme", principal: "app", outcome: "allowed")
    }

    @Test("Indices continue across reopen and each line chains the previous one")
    func reopen() async throws {
        let path = tempPath()
        do {
            let sink = try FileAuditSink(path: path)
            #expect(try await sink.append(record(0)) == 0)
            #expect(try await sink.append(record(1)) == 1)
        }
        let sink = try FileAuditSink(path: path)
        #expect(try await sink.append(record(2)) == 2)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].contains("\"prev\":\"" + String(repeating: "0", count: 64) + "\""))
    }

    @Test("A torn last line is cut back on open; earlier records stay")
    func tornTail() async throws {
        let path = tempPath()
        do {
            let sink = try FileAuditSink(path: path)
            _ = try await sink.append(record(0))
            _ = try await sink.append(record(1))
        }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"index\":2,\"prev\":\"ab".utf8))
        try handle.close()
        let sink = try FileAuditSink(path: path)
        #expect(sink.recoveredBytes > 0)
        #expect(await sink.count == 2)
        #expect(try await sink.append(record(2)) == 2)
    }

    @Test("A modified record before the tail makes the file refuse to open")
    func tamperedMiddle() async throws {
        let path = tempPath()
        do {
            let sink = try FileAuditSink(path: path)
            for n in 0..<3 { _ = try await sink.append(record(n)) }
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "\"requestID\":\"r1\"", with: "\"requestID\":\"rX\"").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SealgateError.self) { try FileAuditSink(path: path) }
    }
}
