import Retrieval
import SealgateConfig
import Testing

@testable import SealgateServer

/// `retrieval.ef_search` reaches the gateway's index: `auto` grows the width with the graph, a number fixes it; the
/// rest of the gateway's index form (int8 codes, no full-precision vectors in memory) is unchanged.
@Suite("Gateway index options from retrieval.ef_search")
struct SearchWidthConfigTests {
    @Test("auto grows from 64; a number is that width at every size; both keep the sealed form")
    func mapping() throws {
        let profiles: Set<String> = ["none", "basic", "all"]
        let auto = Sealgate.indexOptions(try ConfigLoader.parse("{}", knownRedactionProfiles: profiles).retrieval, idfWeighting: false)
        #expect(auto.efSearchGrows && auto.efSearch == 64 && auto.efSearch(nodes: 1_000_000) == 177)
        let fixed = Sealgate.indexOptions(
            try ConfigLoader.parse("retrieval:\n  ef_search: 300\n", knownRedactionProfiles: profiles).retrieval, idfWeighting: false)
        #expect(!fixed.efSearchGrows && fixed.efSearch(nodes: 10) == 300 && fixed.efSearch(nodes: 4_000_000) == 300)
        for options in [auto, fixed] {
            #expect(!options.keepsFullPrecision && options.m == IndexOptions.sealed.m && options.rescoreFactor == IndexOptions.sealed.rescoreFactor)
        }
    }

    @Test("The built-in embedder's IDF-weighted index gets the wider graph and auto width; a fixed width stays as configured")
    func idfWeighting() throws {
        let profiles: Set<String> = ["none", "basic", "all"]
        let auto = Sealgate.indexOptions(try ConfigLoader.parse("{}", knownRedactionProfiles: profiles).retrieval, idfWeighting: true)
        #expect(auto.m == 32 && auto.efConstruction == 200 && auto.efSearchGrows)
        #expect(auto.efSearch(nodes: 10_000) == IndexOptions.idfSearchFloor && auto.efSearch(nodes: 1_000_000) > 177)
        let fixed = Sealgate.indexOptions(
            try ConfigLoader.parse("retrieval:\n  ef_search: 40\n", knownRedactionProfiles: profiles).retrieval, idfWeighting: true)
        #expect(fixed.m == 32 && !fixed.efSearchGrows && fixed.efSearch(nodes: 1_000_000) == 40)
        for options in [auto, fixed] { #expect(!options.keepsFullPrecision && options.rescoreFactor == IndexOptions.sealed.rescoreFactor) }
    }
}
