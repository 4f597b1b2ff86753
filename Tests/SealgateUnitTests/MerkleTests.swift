import Audit
import Foundation
import SealgateCore
import Testing

@Suite("RFC 6962 Merkle tree against the Certificate Transparency reference vectors")
struct MerkleTests {
    struct Vectors: Decodable {
        struct Inclusion: Decodable {
            let index: Int
            let size: Int
            let proof: [String]
        }
        struct Consistency: Decodable {
            let first: Int
            let second: Int
            let proof: [String]
        }
        let leaves: [String]
        let roots: [String]
        let inclusion: [Inclusion]
        let consistency: [Consistency]
    }

    static func load() throws -> Vectors {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/rfc6962.json")
        return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }

    static func tree(_ v: Vectors) -> MerkleTree {
        MerkleTree(leafHashes: v.leaves.map { MerkleHash.leaf(Hex.decode($0) ?? Data()) })
    }

    @Test("Roots of every size 0…8")
    func roots() throws {
        let v = try Self.load()
        let tree = Self.tree(v)
        for size in 0...8 { #expect(Hex.encode(try tree.root(size: size)) == v.roots[size], "size \(size)") }
    }

    @Test("Inclusion proofs equal the reference and verify; a wrong leaf or root does not")
    func inclusion() throws {
        let v = try Self.load()
        let tree = Self.tree(v)
        for c in v.inclusion {
            let proof = try tree.inclusionProof(index: c.index, size: c.size)
            #expect(proof.map { Hex.encode($0) } == c.proof, "\(c.index)/\(c.size)")
            let root = try #require(Hex.decode(v.roots[c.size]))
            let leaf = try #require(tree.leafHash(c.index))
            #expect(MerkleProof.verifyInclusion(index: c.index, size: c.size, leafHash: leaf, proof: proof, root: root))
            #expect(!MerkleProof.verifyInclusion(index: c.index, size: c.size, leafHash: MerkleHash.leaf(Data([9])), proof: proof, root: root))
            #expect(!MerkleProof.verifyInclusion(index: c.index, size: c.size, leafHash: leaf, proof: proof, root: MerkleHash.emptyRoot))
        }
    }

    @Test("Consistency proofs equal the reference and verify")
    func consistency() throws {
        let v = try Self.load()
        let tree = Self.tree(v)
        for c in v.consistency {
            let proof = try tree.consistencyProof(from: c.first, to: c.second)
            #expect(proof.map { Hex.encode($0) } == c.proof, "\(c.first)→\(c.second)")
            let old = try #require(Hex.decode(v.roots[c.first]))
            let new = try #require(Hex.decode(v.roots[c.second]))
            #expect(MerkleProof.verifyConsistency(oldSize: c.first, newSize: c.second, oldRoot: old, newRoot: new, proof: proof))
            if c.first != c.second {
                #expect(!MerkleProof.verifyConsistency(oldSize: c.first, newSize: c.second, oldRoot: new, newRoot: new, proof: proof))
            }
        }
    }

    @Test("Every proof in every tree up to 70 leaves verifies (all shapes of the recursion)")
    func exhaustive() throws {
        let tree = MerkleTree(leafHashes: (0..<70).map { MerkleHash.leaf(Data([UInt8($0), 7])) })
        for size in 1...70 {
            let root = try tree.root(size: size)
            for index in 0..<size {
                let proof = try tree.inclusionProof(index: index, size: size)
                #expect(MerkleProof.verifyInclusion(index: index, size: size, leafHash: try #require(tree.leafHash(index)), proof: proof, root: root))
            }
            for old in 1...size {
                let proof = try tree.consistencyProof(from: old, to: size)
                #expect(MerkleProof.verifyConsistency(oldSize: old, newSize: size, oldRoot: try tree.root(size: old), newRoot: root, proof: proof))
            }
        }
    }

    @Test("Full-log verification (leaves and levels hashed on all cores) computes the serial tree's root", arguments: [0, 1, 2, 3, 4095, 4097, 12_345])
    func parallelRoot(size: Int) {
        let entries = (0..<size).map { Data(#"{"index":\#($0),"record":{"kind":"test"}}"#.utf8) }
        var serial = MerkleTree()
        for entry in entries { serial.append(leafHash: MerkleHash.leaf(entry)) }
        let verifier = NoteSigner(name: "test.local/log", key: .init()).verifier
        let report = AuditVerifier.verify(entries: entries, notes: [], verifier: verifier)
        #expect(report.root == serial.root)
        #expect(report.entries == size)
    }

    @Test("tlog-tiles paths encode and parse")
    func tilePaths() {
        #expect(TlogTiles.encodeIndex(1_234_067) == "x001/x234/067")
        #expect(TlogTiles.encodeIndex(5) == "005")
        #expect(TlogTiles.parse("0/x001/x234/067") == TlogTiles.Path(level: 0, index: 1_234_067, width: 256))
        #expect(TlogTiles.parse("entries/000.p/17") == TlogTiles.Path(level: nil, index: 0, width: 17))
        #expect(TlogTiles.parse("1/x001/002.p/256") == nil)
        #expect(TlogTiles.parse("0/1") == nil)
        #expect(TlogTiles.parse("0/x000/001") == nil)
        // 18 digits fit an Int; 21 do not and are refused (no trap).
        #expect(TlogTiles.parse("0/x999/x999/x999/x999/x999/999") == TlogTiles.Path(level: 0, index: 999_999_999_999_999_999, width: 256))
        #expect(TlogTiles.parse("63/x999/x999/x999/x999/x999/x999/999") == nil)
        #expect(TlogTiles.parse("entries/x009/x223/x372/x036/x854/x775/808") == nil)
    }
}
