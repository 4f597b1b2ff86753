import Crypto
import Foundation

/// RFC 6962 / RFC 9162 hashing: leaves are `SHA-256(0x00 ‖ data)`, interior nodes `SHA-256(0x01 ‖ left ‖ right)`.
public enum MerkleHash {
    /// The hash of a leaf's data.
    public static func leaf(_ data: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: Data([0]))
        hasher.update(data: data)
        return Data(hasher.finalize())
    }

    /// The hash of an interior node.
    public static func node(_ left: Data, _ right: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: Data([1]))
        hasher.update(data: left)
        hasher.update(data: right)
        return Data(hasher.finalize())
    }

    /// The root of the empty tree: `SHA-256("")`.
    public static let emptyRoot = Data(SHA256.hash(data: Data()))
}

/// An append-only Merkle tree over leaf hashes, with the proofs of RFC 9162 §2.1.
///
/// It keeps the hash of every complete subtree (`levels[h][i]` covers leaves `i·2^h ..< (i+1)·2^h`), so
/// roots, proofs and C2SP tiles of any size cost O(log n) lookups.
public struct MerkleTree: Sendable {
    /// `levels[0]` are the leaf hashes; `levels[h]` the complete subtrees of 2^h leaves.
    public private(set) var levels: [[Data]] = [[]]

    public init() {}

    /// Builds a tree from leaf hashes.
    public init(leafHashes: [Data]) {
        for hash in leafHashes { append(leafHash: hash) }
    }

    /// Number of leaves.
    public var size: Int { levels[0].count }

    /// Appends a leaf hash, completing every subtree it closes.
    public mutating func append(leafHash: Data) {
        levels[0].append(leafHash)
        var height = 0
        var index = levels[0].count - 1
        while index % 2 == 1 {
            let parent = MerkleHash.node(levels[height][index - 1], levels[height][index])
            if levels.count == height + 1 { levels.append([]) }
            levels[height + 1].append(parent)
            height += 1
            index = levels[height].count - 1
        }
    }

    /// The leaf hash at `index`.
    public func leafHash(_ index: Int) -> Data? { index >= 0 && index < size ? levels[0][index] : nil }

    /// The hash of the complete subtree at `height` and `index`, if the tree has it.
    public func completeSubtree(height: Int, index: Int) -> Data? {
        guard height < levels.count, index >= 0, index < levels[height].count else { return nil }
        return levels[height][index]
    }

    /// MTH of leaves `start ..< start + count` (count ≥ 1).
    func subtreeHash(start: Int, count: Int) -> Data {
        if count & (count - 1) == 0 && start % count == 0 {
            return levels[count.trailingZeroBitCount][start / count]
        }
        let k = Self.largestPowerOfTwo(below: count)
        return MerkleHash.node(subtreeHash(start: start, count: k), subtreeHash(start: start + k, count: count - k))
    }

    /// The largest power of two strictly smaller than `n` (n ≥ 2).
    static func largestPowerOfTwo(below n: Int) -> Int {
        1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }

    /// The root of the first `size` leaves.
    /// - Throws: ``AuditError`` when `size` exceeds the tree.
    public func root(size n: Int) throws -> Data {
        guard n >= 0, n <= size else { throw AuditError(.badRequest, "tree size \(n) exceeds the log (\(size))") }
        return n == 0 ? MerkleHash.emptyRoot : subtreeHash(start: 0, count: n)
    }

    /// The root of the whole tree.
    public var root: Data { size == 0 ? MerkleHash.emptyRoot : subtreeHash(start: 0, count: size) }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
    public func inclusionProof(index: Int, size n: Int) throws -> [Data] {
        guard n <= size, index >= 0, index < n else {
            throw AuditError(.badRequest, "no leaf \(index) in a tree of size \(n)")
        }
        func path(_ m: Int, _ start: Int, _ n: Int) -> [Data] {
            guard n > 1 else { return [] }
            let k = Self.largestPowerOfTwo(below: n)
            if m < k { return path(m, start, k) + [subtreeHash(start: start + k, count: n - k)] }
            return path(m - k, start + k, n - k) + [subtreeHash(start: start, count: k)]
        }
        return path(index, 0, n)
    }

    /// The consistency proof between tree sizes `old` and `new` (RFC 9162 §2.1.4.1).
    public func consistencyProof(from old: Int, to new: Int) throws -> [Data] {
        guard old >= 0, old <= new, new <= size else {
            throw AuditError(.badRequest, "no consistency proof from \(old) to \(new) in a log of \(size)")
        }
        guard old > 0, old < new else { return [] }
        func subproof(_ m: Int, _ start: Int, _ n: Int, _ complete: Bool) -> [Data] {
            if m == n { return complete ? [] : [subtreeHash(start: start, count: n)] }
            let k = Self.largestPowerOfTwo(below: n)
            if m <= k { return subproof(m, start, k, complete) + [subtreeHash(start: start + k, count: n - k)] }
            return subproof(m - k, start + k, n - k, false) + [subtreeHash(start: start, count: k)]
        }
        return subproof(old, 0, new, true)
    }
}

/// Verification of proofs without the tree (RFC 9162 §2.1.3.2 and §2.1.4.2), for clients and auditors.
public enum MerkleProof {
    /// Whether `proof` shows that `leafHash` is leaf `index` of the tree of `size` with root `root`.
    public static func verifyInclusion(index: Int, size: Int, leafHash: Data, proof: [Data], root: Data) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Whether `proof` shows that the tree of `oldSize` with `oldRoot` is a prefix of the tree of `newSize`.
    public static func verifyConsistency(oldSize: Int, newSize: Int, oldRoot: Data, newRoot: Data, proof: [Data]) -> Bool {
        guard oldSize >= 0, oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}
