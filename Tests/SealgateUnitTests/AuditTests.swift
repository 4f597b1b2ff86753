import Audit
import Crypto
import Foundation
import SealgateCore
import Testing

@Suite("Audit log: durable Merkle log, torn tails, checkpoints, offline verification")
struct AuditTests {
    func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)").path
    }

    func record(_ n: Int) -> AuditRecord {
        AuditRecord(kind: .query, time: Date(timeIntervalSince1970: Double(n)), requestID: "r\(n)", tenant: "acme", principal: "app", outcome: .allowed)
    }

    @Test("Concurrent appends get distinct indices; the log reopens with the same root")
    func appendAndReopen() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root: Data
        do {
            let log = try AuditLog(directory: dir, origin: "test.example/log", checkpointEvery: 10)
            let indices = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for n in 0..<50 { group.addTask { try await log.append(self.record(n)) } }
                return try await group.reduce(into: [UInt64]()) { $0.append($1) }
            }
            #expect(Set(indices) == Set(0..<50))
            try await log.checkpointIfNeeded()
            root = try #require(await log.latestCheckpoint?.root)
        }
        let reopened = try AuditLog(directory: dir, origin: "test.example/log")
        #expect(await reopened.size == 50)
        #expect(await reopened.latestCheckpoint?.root == root)
        #expect(try await reopened.append(record(50)) == 50)
        let report = try AuditVerifier.verify(directory: dir, verifier: reopened.verifier)
        #expect(report.isValid, "\(report.failures)")
        #expect(report.entries == 51)
    }

    @Test("A log dropped before any periodic checkpoint is anchored: the open signed one, verification passes, reopening signs its size")
    func checkpointAtOpen() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let log = try AuditLog(directory: dir, origin: "test.example/log", checkpointEvery: 1000)
            for n in 0..<3 { _ = try await log.append(record(n)) }
            // No checkpointIfNeeded(): the process dies here.
        }
        let notes = AuditLog.readNotes(dir + "/checkpoints")
        #expect(notes.count == 1)
        let report = try AuditVerifier.verify(directory: dir, verifier: nil)
        #expect(report.isValid, "\(report.failures)")
        #expect(report.entries == 3 && report.uncovered == 3)
        let reopened = try AuditLog(directory: dir, origin: "test.example/log")
        #expect(await reopened.latestCheckpoint?.size == 3)
        #expect(AuditLog.readNotes(dir + "/checkpoints").count == 2)
        let again = try AuditLog(directory: dir, origin: "test.example/log")
        #expect(AuditLog.readNotes(dir + "/checkpoints").count == 2, "a size is never signed twice")
        #expect(try AuditVerifier.verify(directory: dir, verifier: again.verifier).uncovered == 0)
    }

    @Test("A reader gets a checkpoint of the current size when the log grew, at most once per freshness interval")
    func checkpointOnDemand() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(directory: dir, origin: "test.example/log", checkpointEvery: 1000)
        for n in 0..<3 { _ = try await log.append(record(n)) }
        let first = try Checkpoint(body: try log.verifier.open(try await log.checkpointNote(freshness: .seconds(3600))))
        #expect(first.size == 3)
        _ = try await log.append(record(3))
        let limited = try Checkpoint(body: try log.verifier.open(try await log.checkpointNote(freshness: .seconds(3600))))
        #expect(limited.size == 3, "a second on-demand signature within the interval")
        let fresh = try Checkpoint(body: try log.verifier.open(try await log.checkpointNote(freshness: .zero)))
        #expect(fresh.size == 4)
    }

    @Test("A torn last entry is cut back on open; earlier entries stay and the log verifies")
    func tornTail() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let log = try AuditLog(directory: dir, origin: "test.example/log")
            for n in 0..<3 { _ = try await log.append(record(n)) }
            try await log.checkpointIfNeeded()
        }
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/entries"))
        handle.seekToEndOfFile()
        handle.write(Data([0, 0, 1, 0]) + Data("{\"index\":3,\"rec".utf8))
        try handle.close()
        let log = try AuditLog(directory: dir, origin: "test.example/log")
        #expect(log.recoveredBytes == 19)
        #expect(await log.size == 3)
        #expect(try await log.append(record(3)) == 3)
    }

    @Test("A log whose entries contradict its own checkpoint refuses to open")
    func refusesTampered() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let log = try AuditLog(directory: dir, origin: "test.example/log")
            for n in 0..<5 { _ = try await log.append(record(n)) }
            try await log.checkpointIfNeeded()
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/entries"))
        let target = try #require(bytes.range(of: Data("\"r2\"".utf8)))
        bytes[target.lowerBound + 2] = UInt8(ascii: "9")
        try bytes.write(to: URL(fileURLWithPath: dir + "/entries"))
        #expect(throws: AuditError.self) { try AuditLog(directory: dir, origin: "test.example/log") }
    }

    struct Tamper: Sendable, CustomTestStringConvertible {
        let name: String
        let expected: String
        var testDescription: String { name }
    }

    static let tampers: [Tamper] = [
        Tamper(name: "one modified byte keeping valid JSON", expected: "checkpoint 1 (size 6): root differs — an entry in 3..<6"),
        Tamper(name: "one modified byte breaking the leaf", expected: "entry 3: "),
        Tamper(name: "a dropped record", expected: "entry 2: carries index 3"),
        Tamper(name: "two swapped records", expected: "entry 1: carries index 2"),
        Tamper(name: "a forged checkpoint", expected: "checkpoint 1: signature does not verify"),
        Tamper(name: "a replayed older checkpoint", expected: "checkpoint 2: tree size went back from 6 to 3"),
        Tamper(name: "a checkpoint from another origin", expected: "checkpoint 1: origin 'other.example/log'"),
    ]

    @Test("Offline verification fails on tampering and names the position", arguments: tampers)
    func verifyNamesPosition(_ t: Tamper) async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(directory: dir, origin: "test.example/log", checkpointEvery: 1000)
        for n in 0..<3 { _ = try await log.append(record(n)) }
        try await log.checkpointIfNeeded()
        for n in 3..<6 { _ = try await log.append(record(n)) }
        try await log.checkpointIfNeeded()
        let verifier = log.verifier
        #expect(try AuditVerifier.verify(directory: dir, verifier: verifier).isValid)
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/entries")))
        var entries = AuditEncoding.splitEntries(raw).entries
        var notes = try String(contentsOfFile: dir + "/checkpoints", encoding: .utf8).split(separator: "\n").map {
            try #require((try JSONDecoder().decode([String: String].self, from: Data($0.utf8)))["note"])
        }
        // The first note is the size-0 checkpoint signed when the log was opened; the positions below count from 3.
        let opening = notes.removeFirst()
        #expect(try Checkpoint(body: verifier.open(opening)).size == 0)
        switch t.name {
        case "one modified byte keeping valid JSON":
            entries[4] = Data(String(decoding: entries[4], as: UTF8.self).replacingOccurrences(of: "\"r4\"", with: "\"r5\"").utf8)
        case "one modified byte breaking the leaf":
            entries[3][entries[3].startIndex + 1] = UInt8(ascii: "X")
        case "a dropped record":
            entries.remove(at: 2)
        case "two swapped records":
            entries.swapAt(1, 2)
        case "a forged checkpoint":
            let forger = NoteSigner(name: "test.example/log", key: Curve25519.Signing.PrivateKey())
            notes[1] = try forger.sign(Checkpoint(origin: "test.example/log", size: 6, root: Data(repeating: 1, count: 32)).body)
        case "a replayed older checkpoint":
            notes.append(notes[0])
        case "a checkpoint from another origin":
            let other = NoteSigner(name: "test.example/log", key: try #require(Self.keyOf(dir)))
            notes[1] = try other.sign(Checkpoint(origin: "other.example/log", size: 6, root: Data(repeating: 2, count: 32)).body)
        default:
            Issue.record("unhandled")
        }
        let report = AuditVerifier.verify(entries: entries, notes: notes, verifier: verifier)
        #expect(!report.isValid)
        #expect(report.failures.first?.hasPrefix(t.expected) == true, "\(report.failures) notes=\(notes.map { $0.split(separator: "\n")[1] })")
    }

    @Test("Streamed verification of the entries file gives the same report at any read block size")
    func streamedVerification() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(directory: dir, origin: "test.example/log", checkpointEvery: 1000)
        for n in 0..<40 {
            _ = try await log.append(record(n))
            if n % 10 == 9 { try await log.checkpointIfNeeded() }
        }
        let verifier = log.verifier
        let path = dir + "/entries"
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let entries = AuditEncoding.splitEntries(raw).entries
        let notes = AuditLog.readNotes(dir + "/checkpoints")
        let reference = AuditVerifier.verify(entries: entries, notes: notes, verifier: verifier)
        #expect(reference.isValid && reference.entries == 40)
        // Block sizes below one entry (the buffer grows), around one entry, a few entries, and the default.
        let sizes = [16, 100, 150, 333, 1000, 4096, 4 << 20]
        for size in sizes {
            let report = try AuditVerifier.verify(directory: dir, verifier: verifier, readBlockSize: size)
            #expect(report.isValid && report.entries == 40 && report.root == reference.root && report.tornTailBytes == 0, "block \(size)")
        }
        // Tampered: entry 5 no longer a leaf, entry 23 valid JSON with another request id; a torn tail at the end.
        var tampered = entries
        tampered[5][tampered[5].startIndex + 1] = UInt8(ascii: "X")
        tampered[23] = Data(String(decoding: tampered[23], as: UTF8.self).replacingOccurrences(of: "\"r23\"", with: "\"r99\"").utf8)
        var bytes = Data()
        for entry in tampered {
            withUnsafeBytes(of: UInt32(entry.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(entry)
        }
        bytes.append(contentsOf: [0, 0, 2, 0, UInt8(ascii: "{")])
        try bytes.write(to: URL(fileURLWithPath: path))
        let expected = AuditVerifier.verify(entries: tampered, notes: notes, verifier: verifier)
        #expect(expected.failures.first == "entry 5: not a valid audit leaf (bytes were modified)", "\(expected.failures)")
        // Checkpoints: 0 (signed at open), 10, 20, 30, 40.
        #expect(expected.failures.contains { $0.hasPrefix("checkpoint 3 (size 30): root differs") }, "\(expected.failures)")
        for size in sizes {
            let report = try AuditVerifier.verify(directory: dir, verifier: verifier, readBlockSize: size)
            #expect(report.failures == expected.failures, "block \(size)")
            #expect(report.entries == 40 && report.tornTailBytes == 5, "block \(size)")
        }
        // A zero length or a length past the end of the file in the middle: the complete prefix ends there, the
        // rest is the torn tail (not read on, whatever the block size), and the checkpoints say entries are missing.
        for header in [UInt32(0), UInt32.max] {
            var cut = Data()
            for entry in entries.prefix(25) {
                withUnsafeBytes(of: UInt32(entry.count).bigEndian) { cut.append(contentsOf: $0) }
                cut.append(entry)
            }
            let kept = cut.count
            withUnsafeBytes(of: header.bigEndian) { cut.append(contentsOf: $0) }
            for entry in entries.suffix(15) {
                withUnsafeBytes(of: UInt32(entry.count).bigEndian) { cut.append(contentsOf: $0) }
                cut.append(entry)
            }
            try cut.write(to: URL(fileURLWithPath: path))
            var first: [String]?
            for size in sizes {
                let report = try AuditVerifier.verify(directory: dir, verifier: verifier, readBlockSize: size)
                #expect(report.entries == 25 && report.tornTailBytes == cut.count - kept, "header \(header) block \(size)")
                #expect(report.failures.contains { $0.hasPrefix("checkpoint 3 covers 30 entries but the log has 25") }, "\(report.failures)")
                if let first { #expect(report.failures == first, "block \(size)") } else { first = report.failures }
            }
        }
    }

    static func keyOf(_ dir: String) -> Curve25519.Signing.PrivateKey? {
        guard let data = FileManager.default.contents(atPath: dir + "/checkpoint.key"),
            let seed = Hex.decode(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        return try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    @Test("Checkpoints are C2SP signed notes with the spec's key id and verifier key format")
    func signedNotes() throws {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 7, count: 32))
        let signer = NoteSigner(name: "example.com/log", key: key)
        let note = try signer.sign(Checkpoint(origin: "example.com/log", size: 3, root: Data(repeating: 0xab, count: 32)).body)
        let lines = note.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "example.com/log")
        #expect(lines[1] == "3")
        #expect(lines[3] == "")
        #expect(lines[4].hasPrefix("\u{2014} example.com/log "))
        let parsed = try NoteVerifier(encoded: signer.verifier.encoded)
        #expect(try Checkpoint(body: parsed.open(note)).size == 3)
        // Key id: SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[0..<4], computed here independently of NoteVerifier.
        var input = Data("example.com/log\n".utf8)
        input.append(1)
        input.append(key.publicKey.rawRepresentation)
        #expect(signer.verifier.encoded.split(separator: "+")[1] == Hex.encode(Data(SHA256.hash(data: input).prefix(4))))
        // Verifier keys round-trip even when their base64 contains '+' (which is also the field separator).
        for _ in 0..<64 {
            let v = NoteSigner(name: "example.com/log", key: Curve25519.Signing.PrivateKey()).verifier
            #expect(try NoteVerifier(encoded: v.encoded) == v)
        }
        let tampered = note.replacingOccurrences(of: "\n3\n", with: "\n4\n")
        #expect(throws: AuditError.self) { try parsed.open(tampered) }
    }
}

@Suite("Audit checkpoint cadence")
struct AuditCadenceTests {
    @Test("A checkpoint is signed every N records, each size once")
    func everyN() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(directory: dir, origin: "test.example/log", checkpointEvery: 3)
        for n in 0..<7 {
            _ = try await log.append(AuditRecord(kind: .query, time: Date(), requestID: "r\(n)", tenant: "t", principal: "p", outcome: .allowed))
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        let sizes = try String(contentsOfFile: dir + "/checkpoints", encoding: .utf8).split(separator: "\n").map {
            String(try #require((try JSONDecoder().decode([String: String].self, from: Data($0.utf8)))["note"]).split(separator: "\n")[1])
        }
        #expect(sizes == ["0", "3", "6"])
    }
}

@Suite("Audit edge cases")
struct AuditEdgeTests {
    func dir() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)").path }
    func record(_ n: Int) -> AuditRecord {
        AuditRecord(kind: .query, time: Date(timeIntervalSince1970: Double(n)), requestID: "r\(n)", tenant: "t", principal: "p", outcome: .allowed)
    }

    @Test("Entries without any checkpoint (deleted) do not verify")
    func deletedCheckpoints() async throws {
        let d = dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let log = try AuditLog(directory: d, origin: "test.example/log")
        for n in 0..<3 { _ = try await log.append(record(n)) }
        try FileManager.default.removeItem(atPath: d + "/checkpoints")
        let report = try AuditVerifier.verify(directory: d, verifier: log.verifier)
        #expect(report.failures.first?.hasPrefix("no signed checkpoint covers the 3 entries") == true)
    }

    @Test("A torn checkpoint line is cut on open so the next checkpoint stays readable")
    func tornCheckpointLine() async throws {
        let d = dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        do {
            let log = try AuditLog(directory: d, origin: "test.example/log")
            _ = try await log.append(record(0))
            try await log.checkpointIfNeeded()
        }
        let handle = try #require(FileHandle(forWritingAtPath: d + "/checkpoints"))
        handle.seekToEndOfFile()
        handle.write(Data("{\"note\":\"test.exa".utf8))
        try handle.close()
        let log = try AuditLog(directory: d, origin: "test.example/log")
        _ = try await log.append(record(1))
        try await log.checkpointIfNeeded()
        #expect(AuditLog.readNotes(d + "/checkpoints").count == 3)  // sizes 0 (first open), 1, 2
        #expect(try AuditVerifier.verify(directory: d, verifier: log.verifier).isValid)
    }
}
