import ArgumentParser
import AsyncHTTPClient
import Audit
import Foundation
import NIOCore
import SealgateConfig
import SealgateCore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify, prove and read the tamper-evident audit log.",
        subcommands: [Verify.self, Proof.self, Tail.self, Key.self, Load.self])

    /// Where the log is: a data directory (offline) or a running gateway.
    struct Source: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Gateway data directory (reads <data-dir>/audit offline).")
        var dataDir: String?
        @Option(help: "Gateway base URL (reads the served checkpoint and tiles).") var url: String?
        @Option(name: .customLong("api-key"), help: "Auditor key for --url (or SEALGATE_AUDITOR_KEY).") var apiKey: String?
        @Option(name: .customLong("key"), help: "Verifier key (name+id+key); default: the log's own key.") var verifierKey: String?

        func validate() throws {
            guard (dataDir == nil) != (url == nil) else { throw ValidationError("give exactly one of --data-dir or --url") }
        }

        var auditorKey: String? { apiKey ?? ProcessInfo.processInfo.environment["SEALGATE_AUDITOR_KEY"] }

        func verifier() throws -> NoteVerifier? { try verifierKey.map { try NoteVerifier(encoded: $0) } }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the tree, check every checkpoint's signature and their consistency; name the first bad position.")
        @OptionGroup var source: Source
        @OptionGroup(title: "Witness policy") var witnessPolicy: WitnessPolicyOptions
        @Argument(
            help: """
                More data directories, with --data-dir: a set of logs (gateway or broker replicas), each verified on its own; \
                no two may share an origin.
                """)
        var more: [String] = []

        func run() async throws {
            guard !more.isEmpty else { return try await verifyOne(source.dataDir) }
            guard let first = source.dataDir else { throw ValidationError("a set of logs is read offline: give --data-dir") }
            var origins: [String: String] = [:]
            var failed: [String] = []
            for dir in [first] + more {
                print("== \(dir)")
                let origin = try? originOf(dir + "/audit")
                if let origin, let other = origins[origin] {
                    print("FAIL origin \(origin) is also the origin of \(other): each replica must keep its own log")
                    failed.append(dir)
                }
                if let origin { origins[origin] = dir }
                do { try await verifyOne(dir) } catch { failed.append(dir) }
            }
            guard failed.isEmpty else {
                print("FAIL \(failed.count) of \(more.count + 1) logs: \(failed.joined(separator: ", "))")
                throw ExitCode(1)
            }
            print("all \(more.count + 1) logs verify (origins: \(origins.keys.sorted().joined(separator: ", ")))")
        }

        /// Verifies the log in `dataDir` (offline), or the running gateway's when `dataDir` is `nil`.
        func verifyOne(_ dataDir: String?) async throws {
            let report: AuditVerification
            let policy = try witnessPolicy.policy()
            if let dir = dataDir {
                let start = ContinuousClock.now
                if let policy {
                    report = try AuditVerifier.verify(
                        directory: dir + "/audit", verifier: try source.verifier(), witnesses: policy.witnesses, quorum: policy.quorum)
                } else {
                    report = try AuditVerifier.verify(directory: dir + "/audit", verifier: try source.verifier())
                }
                let elapsed = start.duration(to: .now)
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let bytes = (try? FileManager.default.attributesOfItem(atPath: dir + "/audit/entries")[.size] as? Int) ?? 0
                print("verified \(bytes) bytes in \(String(format: "%.3f", seconds)) s: \(String(format: "%.1f", Double(bytes) / max(seconds, 1e-9) / 1e6)) MB/s")
            } else {
                report = try await RemoteLog(base: source.url ?? "", key: source.auditorKey).verify(verifier: try source.verifier(), witnesses: policy)
            }
            if let policy { witnessPolicy.printWitnessed(report, policy: policy) }
            print("entries: \(report.entries)  checkpoints: \(report.checkpoints)  root: \(report.root.base64EncodedString())")
            if report.uncovered > 0 { print("\(report.uncovered) entries after the last checkpoint are not yet covered by a signature") }
            if report.tornTailBytes > 0 { print("torn tail: \(report.tornTailBytes) bytes after the last complete entry (cut on next start)") }
            if report.isValid {
                print("audit log verifies")
            } else {
                for failure in report.failures { print("FAIL \(failure)") }
                throw ExitCode(1)
            }
        }
    }

    struct Proof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print and check the inclusion proof of one entry against the latest checkpoint.")
        @OptionGroup var source: Source
        @Option(help: "Entry index.") var index: Int

        func run() async throws {
            let entries: [Data]
            let note: String
            let verifier: NoteVerifier
            if let dir = source.dataDir {
                // Read-only: never open the log as a writer (a running gateway owns it).
                let audit = dir + "/audit"
                guard let latest = AuditLog.readNotes(audit + "/checkpoints").last else {
                    throw RuntimeFailure("no checkpoint in \(audit) yet: is --data-dir a gateway's state directory? A running gateway signs one within 10 s")
                }
                note = latest
                entries = AuditEncoding.splitEntries([UInt8](FileManager.default.contents(atPath: audit + "/entries") ?? Data())).entries
                verifier = try source.verifier() ?? NoteSigner.load(path: audit + "/checkpoint.key", name: try originOf(audit)).verifier
            } else {
                let remote = RemoteLog(base: source.url ?? "", key: source.auditorKey)
                (note, verifier) = try await remote.checkpoint(verifier: try source.verifier())
                entries = try await remote.entries(size: try Checkpoint(body: verifier.open(note)).size)
            }
            let checkpoint = try Checkpoint(body: try verifier.open(note))
            guard index >= 0, index < checkpoint.size else {
                throw RuntimeFailure(
                    "index \(index) is not covered by the latest checkpoint (size \(checkpoint.size)): give --index from 0 to \(checkpoint.size - 1), or wait for the next checkpoint")
            }
            let tree = MerkleTree(leafHashes: entries.prefix(checkpoint.size).map(MerkleHash.leaf))
            let proof = try tree.inclusionProof(index: index, size: checkpoint.size)
            let ok = MerkleProof.verifyInclusion(
                index: index, size: checkpoint.size, leafHash: MerkleHash.leaf(entries[index]), proof: proof, root: checkpoint.root)
            print(String(decoding: entries[index], as: UTF8.self))
            print("tree size \(checkpoint.size), root \(checkpoint.root.base64EncodedString())")
            for hash in proof { print("  \(hash.base64EncodedString())") }
            print(ok ? "inclusion proof verifies against the signed checkpoint" : "INCLUSION PROOF DOES NOT VERIFY")
            if !ok { throw ExitCode(1) }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the latest audit records (digests and counts only; never content).")
        @Option(name: .customLong("data-dir")) var dataDir = ".sealgate"
        @Option(name: .shortAndLong, help: "How many records.") var lines = 20
        @Flag(help: "Keep printing new records.") var follow = false
        @Flag(help: "Print raw JSON leaves.") var json = false

        func run() async throws {
            var printed = 0
            let path = dataDir + "/audit/entries"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dataDir + "/audit", isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RuntimeFailure("no audit log in \(dataDir)/audit: pass --data-dir with the gateway's state directory (default .sealgate)")
            }
            repeat {
                let raw = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
                let entries = AuditEncoding.splitEntries(raw).entries
                let start = printed == 0 ? max(0, entries.count - lines) : printed
                for entry in entries[min(start, entries.count)...] {
                    if json {
                        print(String(decoding: entry, as: UTF8.self))
                    } else if let leaf = try? JSONDecoder().decode(AuditLeaf.self, from: entry) {
                        let r = leaf.record
                        let reason = r.reason.map { " reason=\($0)" } ?? ""
                        print("#\(leaf.index) \(r.time) \(r.kind.rawValue) tenant=\(r.tenant) principal=\(r.principal) class=\(r.dataClass ?? "-") outcome=\(r.outcome.rawValue)\(reason)")
                    }
                }
                printed = entries.count
                if follow { try await Task.sleep(nanoseconds: 500_000_000) }
            } while follow
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the checkpoint verifier key (C2SP signed-note format), derived from the log's signing key.")
        @Option(name: .customLong("data-dir")) var dataDir = ".sealgate"
        @Option(help: "The log's origin (the key's name); default: the origin its checkpoints carry, else audit.origin's default.")
        var origin: String?

        func run() async throws {
            let dir = dataDir + "/audit"
            // The key needs no checkpoint: only its name, which is the log's origin.
            let name = origin ?? (try? originOf(dir)) ?? AuditSettings().origin
            print(try NoteSigner.load(path: dir + "/checkpoint.key", name: name).verifier.encoded)
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append synthetic records with N concurrent writers and report durable appends per second.",
            discussion: "A durability and throughput check on a scratch directory; never point it at a production log.")
        @Option(name: .customLong("dir"), help: "Scratch audit directory.") var dir: String
        @Option(help: "Records to append (exactly this many).") var records = 20_000
        @Option(help: "Concurrent writers.") var writers = 16
        @Flag(name: .customLong("print-acks"), help: "Print each acknowledged index as it is acknowledged.") var printAcks = false

        func validate() throws {
            guard records >= 1, writers >= 1 else { throw ValidationError("--records and --writers must be at least 1") }
        }

        func run() async throws {
            let log = try AuditLog(directory: dir, origin: "load.sealgate.local/audit", checkpointEvery: 10_000)
            let start = ContinuousClock.now
            // Exactly `records` appends: the remainder goes one each to the first writers.
            let writers = max(1, min(self.writers, records))
            let failures = try await withThrowingTaskGroup(of: Int.self) { group in
                for w in 0..<writers {
                    let share = records / writers + (w < records % writers ? 1 : 0)
                    group.addTask {
                        var failed = 0
                        for n in 0..<share {
                            let record = AuditRecord(kind: .load, time: Date(), requestID: "w\(w)-\(n)", tenant: "load", principal: "load", outcome: .allowed)
                            do {
                                let index = try await log.append(record)
                                if printAcks { print(index) }
                            } catch {
                                failed += 1
                            }
                        }
                        return failed
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = start.duration(to: .now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let done = records - failures
            _ = try? await log.checkpointIfNeeded()
            if !printAcks {
                print("writers=\(writers) appended=\(done) failed=\(failures) seconds=\(String(format: "%.2f", seconds)) appends_per_s=\(Int(Double(done) / seconds))")
            }
            if failures > 0 { throw ExitCode(3) }
        }
    }
}

/// The origin of a log, from its first checkpoint (or the default).
func originOf(_ dir: String) throws -> String {
    guard let text = FileManager.default.contents(atPath: dir + "/checkpoints"),
        let line = String(decoding: text, as: UTF8.self).split(separator: "\n").first,
        let note = (try? JSONDecoder().decode([String: String].self, from: Data(line.utf8)))?["note"],
        let origin = note.split(separator: "\n").first
    else { throw RuntimeFailure("no checkpoint in \(dir) yet: is --data-dir a gateway's state directory? A running gateway signs one within 10 s") }
    return String(origin)
}
