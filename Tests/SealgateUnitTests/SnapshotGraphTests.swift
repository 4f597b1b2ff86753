import SealgateCore
import SealgateTestSupport
import Testing

@testable import Retrieval

/// A sealed snapshot is authenticated, but its decoder is still a parser: a graph whose upper-level links name nodes
/// absent from that level decoded and then trapped the process at the next upsert (linking reads the neighbour's
/// list at that level). Such a graph is refused at decode, as the other inconsistencies are.
@Suite("Approximate index: snapshot graphs are consistent or refused")
struct SnapshotGraphTests {
    static let options = IndexOptions(m: 8, efConstruction: 32, bruteForceBelow: 16, buildThreads: 1)

    static func built() throws -> ClassIndex {
        var sub = ClassIndex(dimensions: 16, idfWeighting: false, options: options)
        for (i, v) in ANNTests.clustered(count: 300, dims: 16, clusters: 10, seed: 7).enumerated() {
            sub.add(document: DocumentID(unchecked: "d\(i)"), version: nil, chunks: [(0, v)])
        }
        return sub
    }

    @Test("Upper-level links to a node below that level, or a top level no node has, are refused; a sound graph loads and takes upserts")
    func inconsistentLevels() throws {
        let sound = try Self.built()
        let graph = try #require(sound.graph)
        #expect(graph.maxLevel >= 1, "the graph needs upper levels for the test to mean anything")
        var loaded = try ClassIndex.decode(sound.encoded(), dimensions: 16, idfWeighting: false, options: Self.options)
        for (i, v) in ANNTests.clustered(count: 50, dims: 16, clusters: 10, seed: 8).enumerated() {
            loaded.add(document: DocumentID(unchecked: "n\(i)"), version: nil, chunks: [(0, v)])
        }
        #expect(loaded.count == 350)

        var hostile = sound
        var g = graph
        let low = Int32(try #require(g.levels.firstIndex(of: 0)))
        for i in g.upper.indices { for j in g.upper[i].indices where g.upper[i][j] >= 0 { g.upper[i][j] = low } }
        hostile.graph = g
        #expect(throws: SealgateError.self) { try ClassIndex.decode(hostile.encoded(), dimensions: 16, idfWeighting: false, options: Self.options) }

        var tall = sound
        var t = graph
        t.maxLevel += 1
        tall.graph = t
        #expect(throws: SealgateError.self) { try ClassIndex.decode(tall.encoded(), dimensions: 16, idfWeighting: false, options: Self.options) }
    }
}
