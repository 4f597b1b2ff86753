// Where audit verification time goes: reading, leaf hashing, tree building, full verification.
// Usage: AuditBench <audit-dir>   (a directory made by `sealgate audit load`)
import Audit
import Foundation

let dir = CommandLine.arguments.dropFirst().first ?? ".sealgate/audit"
func time(_ label: String, _ body: () throws -> Void) rethrows {
    let start = ContinuousClock.now
    try body()
    let d = start.duration(to: .now)
    print("\(label): \(String(format: "%.2f", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000)) ms")
}
var raw: [UInt8] = []
time("read entries") { raw = [UInt8](FileManager.default.contents(atPath: dir + "/entries") ?? Data()) }
var ranges: [Range<Int>] = []
time("split") { ranges = AuditEncoding.entryRanges(raw).ranges }
var leaves: [Data] = []
time("leaf hashes (Data API)") { leaves = ranges.map { MerkleHash.leaf(Data(raw[$0])) } }
time("tree from leaf hashes") { _ = MerkleTree(leafHashes: leaves).root }
try time("full verification") { _ = try AuditVerifier.verify(directory: dir, verifier: nil) }
print("entries: \(ranges.count), bytes: \(raw.count)")
