import Foundation

/// RFC 9162 §2.1 roots and proofs computed from the hashes of complete subtrees, wherever those are kept: in
/// memory (``MerkleTree``) or in the log's hash files (`TreeFiles`). Both give the same bytes because both run
/// this code.
///
/// `node(height, index)` returns the hash of the complete subtree of `2^height` leaves starting at leaf
/// `index · 2^height`; callers only ask for subtrees inside the tree.
enum MerklePaths {
    typealias Node = (_ height: Int, _ index: Int) throws -> Hash32

    /// The largest power of two strictly smaller than `n` (n ≥ 2).
    static func largestPowerOfTwo(below n: Int) -> Int {
        1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }

    /// MTH of leaves `start ..< start + count` (count ≥ 1).
    static func subtree(start: Int, count: Int, _ node: Node) rethrows -> Hash32 {
        if count & (count - 1) == 0 && start % count == 0 {
            return try node(count.trailingZeroBitCount, start / count)
        }
        let k = largestPowerOfTwo(below: count)
        return MerkleHash.node32(try subtree(start: start, count: k, node), try subtree(start: start + k, count: count - k, node))
    }

    /// The root of the first `size` leaves of a tree of `treeSize` leaves.
    /// - Throws: ``AuditError`` `bad_request` when `size` exceeds the tree; whatever `node` throws.
    static func root(size n: Int, treeSize: Int, _ node: Node) throws -> Data {
        guard n >= 0, n <= treeSize else { throw AuditError(.badRequest, "tree size \(n) exceeds the log (\(treeSize))") }
        return n == 0 ? MerkleHash.emptyRoot : try subtree(start: 0, count: n, node).data
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
    /// - Throws: ``AuditError`` `bad_request` when there is no such leaf; whatever `node` throws.
    static func inclusion(index: Int, size n: Int, treeSize: Int, _ node: Node) throws -> [Data] {
        guard n <= treeSize, index >= 0, index < n else {
            throw AuditError(.badRequest, "no leaf \(index) in a tree of size \(n)")
        }
        return try path(index, 0, n, node)
    }

    private static func path(_ m: Int, _ start: Int, _ n: Int, _ node: Node) rethrows -> [Data] {
        guard n > 1 else { return [] }
        let k = largestPowerOfTwo(below: n)
        if m < k { return try path(m, start, k, node) + [try subtree(start: start + k, count: n - k, node).data] }
        return try path(m - k, start + k, n - k, node) + [try subtree(start: start, count: k, node).data]
    }

    /// The consistency proof between tree sizes `old` and `new` (RFC 9162 §2.1.4.1).
    /// - Throws: ``AuditError`` `bad_request` when the sizes are out of order or beyond the tree; whatever `node` throws.
    static func consistency(from old: Int, to new: Int, treeSize: Int, _ node: Node) throws -> [Data] {
        guard old >= 0, old <= new, new <= treeSize else {
            throw AuditError(.badRequest, "no consistency proof from \(old) to \(new) in a log of \(treeSize)")
        }
        guard old > 0, old < new else { return [] }
        return try subproof(old, 0, new, true, node)
    }

    private static func subproof(_ m: Int, _ start: Int, _ n: Int, _ complete: Bool, _ node: Node) rethrows -> [Data] {
        if m == n { return complete ? [] : [try subtree(start: start, count: n, node).data] }
        let k = largestPowerOfTwo(below: n)
        if m <= k { return try subproof(m, start, k, complete, node) + [try subtree(start: start + k, count: n - k, node).data] }
        return try subproof(m - k, start + k, n - k, false, node) + [try subtree(start: start, count: k, node).data]
    }
}

/// The right edge of an append-only tree (RFC 9162's compact range): for each height whose bit is set in the
/// tree size, the hash of the last complete subtree of that height. It is all an append needs: O(log n) hashes
/// whatever the log's length.
struct CompactRange: Sendable {
    /// Number of leaves.
    private(set) var size: Int
    /// `edge[h]`: the last complete subtree of height `h` when bit `h` of `size` is set.
    private var edge: [Hash32?]

    init() {
        size = 0
        edge = []
    }

    /// The right edge of the first `size` leaves, read from a store of complete-subtree hashes.
    init(size: Int, _ node: MerklePaths.Node) throws {
        self.size = size
        edge = []
        var height = 0
        while size >> height > 0 {
            let count = size >> height
            edge.append(count & 1 == 1 ? try node(height, count - 1) : nil)
            height += 1
        }
    }

    /// Appends a leaf hash; calls `completed(height, hash)` for the leaf (height 0) and each subtree it completes,
    /// in order of height.
    mutating func append(_ leaf: Hash32, completed: (Int, Hash32) -> Void) {
        var hash = leaf
        var height = 0
        var count = size
        completed(0, hash)
        while count & 1 == 1 {
            guard let left = edge[height] else { break }
            hash = MerkleHash.node32(left, hash)
            edge[height] = nil
            height += 1
            count >>= 1
            completed(height, hash)
        }
        if edge.count == height { edge.append(nil) }
        edge[height] = hash
        size += 1
    }

    /// The root of all leaves: the edge folded from the lowest height up.
    var root: Data {
        var root: Hash32?
        for hash in edge {
            guard let hash else { continue }
            root = root.map { MerkleHash.node32(hash, $0) } ?? hash
        }
        return root?.data ?? MerkleHash.emptyRoot
    }
}
