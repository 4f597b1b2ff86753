import Retrieval
import SealgateCore
import Testing

/// Issue #17: a sealed snapshot (format `SGCI` 2) carries the counts behind `auto`'s measured width, and still reads
/// format 1; counts no measurement could give refuse the snapshot, another release's ladder only drops the counts.
@Suite("Approximate index: the measured width in snapshots")
struct WidthEvidenceSnapshotTests {
    static let options = IndexOptions(m: 16, efConstruction: 64, efSearch: 128, bruteForceBelow: 256, buildThreads: 1)
    /// Bytes of the evidence section at the end of a format 2 snapshot: a flag, the step count, the base and the
    /// questions (u32 each), the exact candidates and each step's count (u64 each).
    static let sectionBytes = 1 + 1 + 4 + 4 + 8 + 8 * WidthEvidence.steps.count

    /// A sub-index whose width has been decided on its questions.
    static func measured() async throws -> ClassIndex {
        let vectors = ANNTests.clustered(count: 3_000, dims: 16, clusters: 30, seed: 61)
        let queries = ANNTests.clustered(count: 100, dims: 16, clusters: 30, seed: 62)
        let index = VectorIndex(dimensions: 16, idfWeighting: false, options: options, measurementQuiet: SearchWidthTests.quiet)
        await index.replace(tenant: ANNTests.tenant, entries: ANNTests.entries(vectors), epoch: 1)
        _ = try #require(try await SearchWidthTests.warmUp(index, queries: queries))
        return try #require(await index.subIndexes(tenant: ANNTests.tenant).values.first)
    }

    static func decode(_ bytes: [UInt8]) throws -> ClassIndex {
        try ClassIndex.decode(bytes, dimensions: 16, idfWeighting: false, options: options)
    }

    @Test("The evidence round-trips; format 1 bytes (no evidence) still load; an unmeasured sub-index writes none")
    func roundTrip() async throws {
        let sub = try await Self.measured()
        let evidence = try #require(sub.searchWidthEvidence)
        #expect(evidence.isDecided)
        let bytes = sub.encoded()
        #expect(bytes[4] == 2)
        let loaded = try Self.decode(bytes)
        #expect(loaded.searchWidthEvidence == evidence)
        #expect(loaded.encoded() == bytes)

        // What the previous release wrote: format 1, nothing after the graph.
        var old = Array(bytes.dropLast(Self.sectionBytes))
        old[4] = 1
        let fromOld = try Self.decode(old)
        #expect(fromOld.searchWidthEvidence == nil && fromOld.count == sub.count)
        // Format 1 with a trailing section, or format 3, is not something any release wrote.
        var trailing = bytes
        trailing[4] = 1
        #expect(throws: SealgateError.self) { try Self.decode(trailing) }
        var future = bytes
        future[4] = 3
        #expect(throws: SealgateError.self) { try Self.decode(future) }

        // Rewritten without evidence: the flag says none.
        let bare = fromOld.encoded()
        #expect(bare.count == bytes.count - Self.sectionBytes + 1 && bare.last == 0)
        #expect(try Self.decode(bare).searchWidthEvidence == nil)
    }

    @Test("Counts no measurement could give are refused; another ladder's counts are dropped, the sub-index kept")
    func implausibleCounts() async throws {
        let bytes = try await Self.measured().encoded()
        let start = bytes.count - Self.sectionBytes
        #expect(bytes[start] == 1 && Int(bytes[start + 1]) == WidthEvidence.steps.count)
        func patched(_ offset: Int, _ value: UInt64, width: Int = 8) -> [UInt8] {
            var copy = bytes
            for i in 0..<width { copy[start + offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            return copy
        }
        let relevantAt = 10
        let firstStepAt = 18
        let refused: [(String, [UInt8])] = [
            ("flag 2", patched(0, 2, width: 1)),
            ("base 0", patched(2, 0, width: 4)),
            ("base above the limit", patched(2, UInt64(IndexOptions.efSearchLimit + 1), width: 4)),
            ("a window of questions", patched(6, 512, width: 4)),
            ("relevant NaN", patched(relevantAt, Double.nan.bitPattern)),
            ("relevant negative", patched(relevantAt, (-1.0).bitPattern)),
            ("relevant infinite", patched(relevantAt, Double.infinity.bitPattern)),
            ("a step finding more than there was", patched(firstStepAt, (1e12).bitPattern)),
            ("a step negative", patched(firstStepAt, (-3.0).bitPattern)),
            ("truncated", Array(bytes.dropLast(3))),
            ("a byte more", bytes + [0]),
        ]
        for (name, damaged) in refused {
            #expect(throws: SealgateError.self, "\(name)") { try Self.decode(damaged) }
        }
        // A ladder of six steps (another release's): the counts are skipped, the graph and codes load.
        var shorter = Array(bytes.dropLast(8))
        shorter[start + 1] = UInt8(WidthEvidence.steps.count - 1)
        let loaded = try Self.decode(shorter)
        #expect(loaded.searchWidthEvidence == nil && loaded.count == 3_000)
    }
}
