import Audit
import Crypto
import Foundation
import SealgateCore
import Testing

/// The running log keeps its tree in hash files (`tree/`) and reads entries, tiles and proofs from disk; start-up
/// reads the latest checkpoint and the entries after it. These tests pin that what it serves is byte for byte what
/// the in-memory tree over the same entries gives, and how damaged, missing or stale files are handled.
@Suite("Audit log storage: hash files, start-up from the tail, migration")
struct AuditStorageTests {
    let origin = "test.example/log"

    func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("audit-store-\(UUID().uuidString)").path
    }

    func record(_ n: Int) -> AuditRecord {
        AuditRecord(kind: .query, time: Date(timeIntervalSince1970: Double(n)), requestID: "r\(n)", tenant: "acme", principal: "app", outcome: .allowed)
    }

    func storedEntries(_ dir: String) throws -> [Data] {
        AuditEncoding.splitEntries([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/entries")))).entries
    }

    func fileSize(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1 }

    /// Appends `count` records from `start` with 8 concurrent writers (batches of varying size).
    func append(_ log: AuditLog, _ range: Range<Int>) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask { for n in range where n % 8 == w { _ = try await log.append(self.record(n)) } }
            }
            try await group.waitForAll()
        }
    }

    /// A log of `count` records with a checkpoint covering them all, closed again.
    func writeLog(_ dir: String, count: Int, checkpointEvery: Int = 1000) async throws {
        let log = try AuditLog(directory: dir, origin: origin, checkpointEvery: checkpointEvery)
        try await append(log, 0..<count)
        try await log.checkpointIfNeeded()
    }

    /// Changes the last digit of request id `r<n>` in the entries file to 9 (valid JSON, another record).
    func editEntry(_ dir: String, _ n: Int) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/entries"))
        let target = try #require(bytes.range(of: Data("\"r\(n)\"".utf8)))
        bytes[target.upperBound - 2] = UInt8(ascii: "9")
        try bytes.write(to: URL(fileURLWithPath: dir + "/entries"))
    }

    /// Overwrites bytes of a file in `dir`.
    func patch(_ path: String, at offset: Int, _ bytes: Data) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(offset))
        handle.write(bytes)
        try handle.close()
    }

    /// Checks every kind of read against a `MerkleTree` built in memory from the entries file.
    func expectSameAsMemory(_ log: AuditLog, _ dir: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let entries = try storedEntries(dir)
        let n = entries.count
        #expect(await log.size == n, sourceLocation: sourceLocation)
        let tree = MerkleTree(leafHashes: entries.map(MerkleHash.leaf))
        let sizes = Set([1, 2, 3, 7, 8, 255, 256, 257, 511, 512, 513, n / 2, n - 1, n].filter { $0 >= 1 && $0 <= n })
        for size in sizes.sorted() {
            for index in Set([0, size / 3, size / 2, size - 1]) {
                let proof = try await log.inclusionProof(index: index, size: size)
                #expect(proof.proof == (try tree.inclusionProof(index: index, size: size)), "inclusion \(index)/\(size)", sourceLocation: sourceLocation)
                let root = try tree.root(size: size)
                #expect(proof.root == root && proof.leafHash == tree.leafHash(index), sourceLocation: sourceLocation)
            }
            for old in Set([0, 1, size / 3, size - 1, size]) {
                let proof = try await log.consistencyProof(from: old, to: size)
                #expect(proof.proof == (try tree.consistencyProof(from: old, to: size)), "consistency \(old)→\(size)", sourceLocation: sourceLocation)
                let roots = (try tree.root(size: old), try tree.root(size: size))
                #expect(proof.oldRoot == roots.0 && proof.newRoot == roots.1, sourceLocation: sourceLocation)
            }
        }
        for level in 0...1 {
            let available = n >> (8 * level)
            for index in 0...(available / 256) {
                let width = min(256, available - index * 256)
                guard width > 0 else { continue }
                #expect(try await log.tile(level: level, index: index, width: width) == (try TlogTiles.hashTile(tree: tree, level: level, index: index, width: width)), sourceLocation: sourceLocation)
            }
            await #expect(throws: AuditError.self, sourceLocation: sourceLocation) { try await log.tile(level: level, index: available / 256, width: available % 256 + 1) }
        }
        for index in 0...(n / 256) where n - index * 256 > 0 {
            let width = min(256, n - index * 256)
            #expect(try await log.entryBundle(index: index, width: width) == (try TlogTiles.entryBundle(entries: entries, index: index, width: width)), sourceLocation: sourceLocation)
        }
        await #expect(throws: AuditError.self, sourceLocation: sourceLocation) { try await log.entryBundle(index: n / 256, width: n % 256 + 1) }
        for index in Set([0, 255, 256, n / 2, n - 1]) where index < n { #expect(await log.entry(index) == entries[index], sourceLocation: sourceLocation) }
        #expect(await log.entry(n) == nil, sourceLocation: sourceLocation)
        #expect(await log.entries(250..<300) == Array(entries[250..<min(n, 300)]), sourceLocation: sourceLocation)
        #expect(await log.latestCheckpoint.map { $0.root == (try? tree.root(size: $0.size)) } == true, sourceLocation: sourceLocation)
    }

    @Test("Proofs, tiles, entry bundles and entries served from the hash files equal the in-memory tree's, before and after reopening")
    func servedFromDisk() async throws {
        let dir = tempDir()
        do {
            let log = try AuditLog(directory: dir, origin: origin, checkpointEvery: 100)
            try await append(log, 0..<700)
            try await expectSameAsMemory(log, dir)
            #expect(fileSize(dir + "/tree/0") == 700 * 32)
            #expect(fileSize(dir + "/tree/8") == 2 * 32)
            #expect(fileSize(dir + "/tree/bundles") == 3 * 8)
        }
        let reopened = try AuditLog(directory: dir, origin: origin)
        #expect(reopened.rebuiltLeafHashes == 0)
        try await expectSameAsMemory(reopened, dir)
        try await append(reopened, 700..<1030)
        try await expectSameAsMemory(reopened, dir)
        #expect(try AuditVerifier.verify(directory: dir, verifier: reopened.verifier).isValid)
    }

    /// A log as older builds wrote it: `entries`, `checkpoints` and `checkpoint.key`, no `tree/`.
    func writeOldLayout(_ dir: String, count: Int) throws -> NoteVerifier {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let key = Curve25519.Signing.PrivateKey()
        _ = FileManager.default.createFile(atPath: dir + "/checkpoint.key", contents: Data(Hex.encode(key.rawRepresentation).utf8), attributes: [.posixPermissions: 0o600])
        var bytes = Data()
        var leaves: [Data] = []
        for n in 0..<count {
            let entry = try AuditEncoding.canonical(AuditLeaf(index: UInt64(n), record: record(n)))
            withUnsafeBytes(of: UInt32(entry.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(entry)
            leaves.append(MerkleHash.leaf(entry))
        }
        try bytes.write(to: URL(fileURLWithPath: dir + "/entries"))
        let signer = NoteSigner(name: origin, key: key)
        let note = try signer.sign(Checkpoint(origin: origin, size: count, root: MerkleTree(leafHashes: leaves).root).body)
        try (try JSONEncoder().encode(["note": note]) + Data("\n".utf8)).write(to: URL(fileURLWithPath: dir + "/checkpoints"))
        return signer.verifier
    }

    @Test("A log written without hash files (older builds) opens: its hash files are built once, later opens re-hash only the tail")
    func migration() async throws {
        let dir = tempDir()
        let verifier = try writeOldLayout(dir, count: 600)
        #expect(!FileManager.default.fileExists(atPath: dir + "/tree"))
        do {
            let log = try AuditLog(directory: dir, origin: origin)
            #expect(log.verifier == verifier)
            #expect(log.rebuiltLeafHashes == 600)
            #expect(fileSize(dir + "/tree/0") == 600 * 32)
            try await expectSameAsMemory(log, dir)
            try await append(log, 600..<650)
        }
        let reopened = try AuditLog(directory: dir, origin: origin)
        #expect(reopened.rebuiltLeafHashes == 0)
        try await expectSameAsMemory(reopened, dir)
        #expect(try AuditVerifier.verify(directory: dir, verifier: verifier).isValid)
    }

    struct Damage: Sendable, CustomTestStringConvertible {
        let name: String
        var testDescription: String { name }
    }

    static let damages = [
        "tree/ deleted", "last 100 leaf hashes missing", "an interior hash on the root's path flipped",
        "the offset of the checkpoint's entry bundle garbled", "a torn hash at the end of tree/0",
        "a leaf hash after the checkpoint flipped",
    ].map(Damage.init)

    @Test("Hash files that are missing, behind or damaged are rebuilt from the entries; the log opens with the same root", arguments: damages)
    func damagedHashFiles(_ damage: Damage) async throws {
        let dir = tempDir()
        do {
            let log = try AuditLog(directory: dir, origin: origin, checkpointEvery: 1_000_000)
            try await append(log, 0..<520)
            try await log.checkpointIfNeeded()
            try await append(log, 520..<530)
        }
        switch damage.name {
        case "tree/ deleted": try FileManager.default.removeItem(atPath: dir + "/tree")
        case "last 100 leaf hashes missing": try #require(FileHandle(forUpdatingAtPath: dir + "/tree/0")).truncate(atOffset: 430 * 32)
        case "an interior hash on the root's path flipped": try patch(dir + "/tree/9", at: 0, Data([0xff]))
        case "the offset of the checkpoint's entry bundle garbled": try patch(dir + "/tree/bundles", at: 16, Data(repeating: 9, count: 8))
        case "a torn hash at the end of tree/0":
            let handle = try #require(FileHandle(forWritingAtPath: dir + "/tree/0"))
            handle.seekToEndOfFile()
            handle.write(Data(repeating: 7, count: 45))
            try handle.close()
        case "a leaf hash after the checkpoint flipped": try patch(dir + "/tree/0", at: 525 * 32, Data([0xff]))
        default: Issue.record("unhandled")
        }
        let log = try AuditLog(directory: dir, origin: origin)
        #expect(await log.size == 530)
        #expect(fileSize(dir + "/tree/0") == 530 * 32)
        try await expectSameAsMemory(log, dir)
        #expect(try AuditVerifier.verify(directory: dir, verifier: log.verifier).isValid)
    }

    @Test("A hash damaged before the checkpoint's entry bundle is not read at start-up: what depends on it is refused, deleting tree/ rebuilds it")
    func damagedBeforeTail() async throws {
        let dir = tempDir()
        try await writeLog(dir, count: 600)
        try patch(dir + "/tree/0", at: 3 * 32, Data([0xff]))
        try patch(dir + "/tree/bundles", at: 8, Data(repeating: 9, count: 8))
        do {
            let log = try AuditLog(directory: dir, origin: origin)
            #expect(await log.size == 600)
            #expect(await log.entry(3) == nil)
            #expect(await log.entry(300) == nil)
            #expect(await log.entry(520) != nil)  // bundle 2: its offsets are intact
            await #expect(throws: AuditError.self) { try await log.inclusionProof(index: 3, size: 600) }
            await #expect(throws: AuditError.self) { try await log.inclusionProof(index: 2, size: 7) }
            await #expect(throws: AuditError.self) { try await log.entryBundle(index: 1, width: 256) }
            #expect(try await log.inclusionProof(index: 500, size: 600).proof.count == 10)
        }
        try FileManager.default.removeItem(atPath: dir + "/tree")
        let repaired = try AuditLog(directory: dir, origin: origin)
        #expect(repaired.rebuiltLeafHashes == 600)
        try await expectSameAsMemory(repaired, dir)
    }

    @Test("Entries that contradict the signed checkpoint refuse to open, even with their stored hashes changed to match")
    func tamperedEntryAndHash() async throws {
        let dir = tempDir()
        try await writeLog(dir, count: 300)
        try editEntry(dir, 270)
        try patch(dir + "/tree/0", at: 270 * 32, MerkleHash.leaf(try storedEntries(dir)[270]))
        #expect(throws: AuditError.self) { try AuditLog(directory: dir, origin: origin) }
        // The same with the hash files gone (the rebuild meets the checkpoint).
        try FileManager.default.removeItem(atPath: dir + "/tree")
        #expect(throws: AuditError.self) { try AuditLog(directory: dir, origin: origin) }
    }

    @Test("Start-up re-hashes only from the checkpoint's entry bundle on; an earlier modified entry is refused when served and by audit verify")
    func startupReadsTail() async throws {
        let dir = tempDir()
        try await writeLog(dir, count: 1000)
        try editEntry(dir, 10)
        // Entry 10 is in bundle 0; the checkpoint (1000) is in bundle 3: the open does not read entry 10.
        let log = try AuditLog(directory: dir, origin: origin)
        #expect(await log.size == 1000)
        #expect(await log.entry(10) == nil)
        #expect(await log.entry(11) != nil)
        await #expect(throws: AuditError.self) { try await log.entryBundle(index: 0, width: 256) }
        let report = try AuditVerifier.verify(directory: dir, verifier: log.verifier)
        #expect(report.failures.first?.hasPrefix("checkpoint 1 (size 1000): root differs") == true, "\(report.failures)")
    }

    @Test("Hash files ahead of the entries (an entry write lost after its hashes) are cut back to the entries")
    func hashesAheadOfEntries() async throws {
        let dir = tempDir()
        try await writeLog(dir, count: 300, checkpointEvery: 1_000_000)
        try await append(try AuditLog(directory: dir, origin: origin, checkpointEvery: 1_000_000), 300..<320)
        let entries = try storedEntries(dir)
        let keep = entries.prefix(315).reduce(0) { $0 + 4 + $1.count }
        try #require(FileHandle(forUpdatingAtPath: dir + "/entries")).truncate(atOffset: UInt64(keep))
        let log = try AuditLog(directory: dir, origin: origin)
        #expect(await log.size == 315)
        #expect(log.recoveredBytes == 0)
        #expect(fileSize(dir + "/tree/0") == 315 * 32)
        try await expectSameAsMemory(log, dir)
        #expect(try await log.append(record(315)) == 315)
        try await expectSameAsMemory(log, dir)
    }
}
