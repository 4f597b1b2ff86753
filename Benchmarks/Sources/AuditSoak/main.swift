// Soak test of the audit log's memory and start-up time (docs/benchmarks.md, "Audit log: memory and start-up").
//
//   AuditSoak soak <dir> [records] [step] [writers]
//       Appends `records` (default 1,000,000) synthetic records through the real AuditLog with `writers` (default
//       64) concurrent writers, a checkpoint every 1,000 records (the default) and, alongside, a stream of
//       inclusion and consistency proofs, hash tiles, entry bundles and entries. Prints VmRSS after every `step`
//       (default 100,000) records, then the time to reopen the log.
//   AuditSoak generate <dir> <entries>
//       Writes a valid log of `entries` records fast, as an older build left it (entries file and signing key,
//       no hash files, no checkpoint), then opens it once: that open builds the hash files and signs a checkpoint
//       (the one-time migration, timed).
//   AuditSoak open <dir> [runs]
//       Times opening an existing log (median of `runs`, default 5) and prints VmRSS after it.
//   AuditSoak tail <dir> <records>
//       Appends `records` without a checkpoint (as a process killed before its next one leaves them), then times
//       the one open that re-hashes them and signs their checkpoint.
import Audit
import Foundation
import SealgateCore

let origin = "soak.sealgate.local/audit"

func rssKiB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }
    return -1
}

func mib(_ kib: Int) -> String { String(format: "%.1f", Double(kib) / 1024) }

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = start.duration(to: .now)
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func fileSize(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }

/// Proof and read requests of the kinds the HTTP API serves, against the current log.
func readSome(_ log: AuditLog, _ rng: inout SystemRandomNumberGenerator) async throws -> Int {
    let size = await log.size
    guard size > 1 else { return 0 }
    let index = Int.random(in: 0..<size, using: &rng)
    let at = Int.random(in: (index + 1)...size, using: &rng)
    let proof = try await log.inclusionProof(index: index, size: at)
    guard MerkleProof.verifyInclusion(index: index, size: at, leafHash: proof.leafHash, proof: proof.proof, root: proof.root) else {
        fatalError("inclusion proof \(index)/\(at) does not verify")
    }
    let old = Int.random(in: 1...at, using: &rng)
    let consistency = try await log.consistencyProof(from: old, to: at)
    guard MerkleProof.verifyConsistency(oldSize: old, newSize: at, oldRoot: consistency.oldRoot, newRoot: consistency.newRoot, proof: consistency.proof) else {
        fatalError("consistency proof \(old)→\(at) does not verify")
    }
    let tile = index / 256
    let width = min(256, size - tile * 256)
    _ = try await log.tile(level: 0, index: tile, width: width)
    _ = try await log.entryBundle(index: tile, width: width)
    guard await log.entry(index) != nil else { fatalError("entry \(index) unreadable") }
    return 1
}

func soak(dir: String, records: Int, step: Int, writers: Int) async throws {
    let log = try AuditLog(directory: dir, origin: origin)
    print("soak: \(records) records, \(writers) writers, checkpoint every 1000, proofs alongside; VmRSS at start \(mib(rssKiB())) MiB")
    print("| records | VmRSS MiB | vs first step | appends/s (step) | proof rounds (step) | entries file MB | hash files MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    var first: Int?
    var done = 0
    while done < records {
        let target = min(records, done + step)
        let start = ContinuousClock.now
        let base = done
        let stop = Flag()
        let rounds = try await withThrowingTaskGroup(of: Int.self) { group in
            let per = (target - base + writers - 1) / writers
            for w in 0..<writers {
                group.addTask {
                    for n in stride(from: base + w * per, to: min(target, base + (w + 1) * per), by: 1) {
                        _ = try await log.append(
                            AuditRecord(kind: .load, time: Date(), requestID: "s\(n)", tenant: "load", principal: "load", outcome: .allowed))
                    }
                    return 0
                }
            }
            group.addTask {
                var rng = SystemRandomNumberGenerator()
                var rounds = 0
                while !stop.isSet {
                    rounds += try await readSome(log, &rng)
                    try await Task.sleep(nanoseconds: 2_000_000)
                }
                return rounds
            }
            var finished = 0
            var rounds = 0
            for try await result in group {
                rounds += result
                finished += 1
                if finished == writers { stop.set() }
            }
            return rounds
        }
        done = target
        let rss = rssKiB()
        if first == nil { first = rss }
        let change = 100 * Double(rss - (first ?? rss)) / Double(max(1, first ?? rss))
        let hashes = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/tree"))?.reduce(0) { $0 + fileSize(dir + "/tree/" + $1) } ?? 0
        print(
            "| \(done) | \(mib(rss)) | \(String(format: "%+.1f%%", change)) | \(Int(Double(target - base) / seconds(since: start))) | \(rounds) | "
                + "\(fileSize(dir + "/entries") / 1_000_000) | \(hashes / 1_000_000) |")
    }
    try await log.checkpointIfNeeded()
    print("final size \(await log.size), checkpoint \(await log.latestCheckpoint?.size ?? -1)")
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// Writes `count` canonical leaves straight to `dir/entries` (the framing of AuditEncoding), checked against
/// AuditEncoding.canonical at sample positions.
func generate(dir: String, count: Int) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let time = Date(timeIntervalSince1970: 1_796_000_000)
    func canonical(_ i: Int) throws -> Data {
        try AuditEncoding.canonical(
            AuditLeaf(index: UInt64(i), record: AuditRecord(kind: .load, time: time, requestID: "g\(i)", tenant: "load", principal: "load", outcome: .allowed)))
    }
    // Template: {"index":<i>,"record":{...,"requestID":"g<i>",...}}
    let sample = String(decoding: try canonical(7), as: UTF8.self)
    guard let mark = sample.range(of: "\"g7\""), sample.hasPrefix("{\"index\":7,") else { fatalError("unexpected leaf shape: \(sample)") }
    let middle = String(sample[sample.index(sample.startIndex, offsetBy: 10)..<mark.lowerBound]) + "\"g"
    let tail = "\"" + String(sample[mark.upperBound...])
    func leaf(_ i: Int) -> Data { Data(("{\"index\":\(i)" + middle + "\(i)" + tail).utf8) }
    for i in [0, 1, 9, 10, 255, 256, 99_999, count - 1] where i >= 0 && i < count {
        guard leaf(i) == (try canonical(i)) else { fatalError("generated leaf \(i) is not canonical") }
    }
    FileManager.default.createFile(atPath: dir + "/entries", contents: nil, attributes: [.posixPermissions: 0o600])
    guard let handle = FileHandle(forWritingAtPath: dir + "/entries") else { fatalError("cannot write \(dir)/entries") }
    var buffer = Data()
    buffer.reserveCapacity(8 << 20)
    for i in 0..<count {
        let entry = leaf(i)
        withUnsafeBytes(of: UInt32(entry.count).bigEndian) { buffer.append(contentsOf: $0) }
        buffer.append(entry)
        if buffer.count >= 8 << 20 {
            handle.write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }
    handle.write(buffer)
    try handle.synchronize()
    try handle.close()
}

func timeOpen(dir: String, runs: Int) throws {
    var times: [Double] = []
    var size = 0
    for _ in 0..<max(1, runs) {
        let start = ContinuousClock.now
        let log = try AuditLog(directory: dir, origin: origin)
        times.append(seconds(since: start))
        size = log.rebuiltLeafHashes == 0 ? fileSize(dir + "/tree/0") / 32 : -1
    }
    times.sort()
    print(
        "open of a \(size)-entry log (\(fileSize(dir + "/entries") / 1_000_000) MB of entries): median \(String(format: "%.1f", times[times.count / 2] * 1000)) ms "
            + "(runs: \(times.map { String(format: "%.1f", $0 * 1000) }.joined(separator: ", ")) ms); VmRSS after \(mib(rssKiB())) MiB")
}

let args = Array(CommandLine.arguments.dropFirst())
guard let command = args.first, args.count >= 2 else {
    print("usage: AuditSoak soak <dir> [records] [step] [writers] | generate <dir> <entries> | open <dir> [runs] | tail <dir> <records>")
    exit(2)
}
let dir = args[1]
func arg(_ i: Int, _ fallback: Int) -> Int { i < args.count ? Int(args[i]) ?? fallback : fallback }
switch command {
case "soak":
    try await soak(dir: dir, records: arg(2, 1_000_000), step: arg(3, 100_000), writers: arg(4, 64))
    try timeOpen(dir: dir, runs: 5)
case "generate":
    let count = arg(2, 10_000_000)
    var start = ContinuousClock.now
    try generate(dir: dir, count: count)
    print("wrote \(count) entries (\(fileSize(dir + "/entries") / 1_000_000) MB) in \(String(format: "%.1f", seconds(since: start))) s")
    start = ContinuousClock.now
    let log = try AuditLog(directory: dir, origin: origin)
    print(
        "first open (migration: hash files built from all \(log.rebuiltLeafHashes) entries, checkpoint signed): "
            + "\(String(format: "%.1f", seconds(since: start))) s; VmRSS after \(mib(rssKiB())) MiB")
case "open":
    try timeOpen(dir: dir, runs: arg(2, 5))
case "tail":
    let count = arg(2, 1000)
    do {
        let log = try AuditLog(directory: dir, origin: origin, checkpointEvery: Int.max)
        let first = await log.size
        for n in 0..<count {
            _ = try await log.append(AuditRecord(kind: .load, time: Date(), requestID: "t\(n)", tenant: "load", principal: "load", outcome: .allowed))
        }
        print("appended \(count) records after the checkpoint at \(first)")
    }
    let start = ContinuousClock.now
    let log = try AuditLog(directory: dir, origin: origin)
    print(
        "open with \(count) entries after the latest checkpoint (log of \(await log.size)): \(String(format: "%.1f", seconds(since: start) * 1000)) ms, "
            + "checkpoint now \(await log.latestCheckpoint?.size ?? -1)")
default:
    print("unknown command \(command)")
    exit(2)
}
