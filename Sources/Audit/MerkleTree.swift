import Crypto
import Foundation

/// A 32-byte hash held inline (no heap allocation), so trees of millions of nodes stay cheap.
public struct Hash32: Hashable, Sendable {
    var a: UInt64, b: UInt64, c: UInt64, d: UInt64

    /// Reads 32 bytes.
    init(_ bytes: UnsafeRawBufferPointer) {
        a = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        b = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        c = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        d = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    /// All zero bits (a placeholder before a hash is written).
    static let zero = Hash32(a: 0, b: 0, c: 0, d: 0)

    init(a: UInt64, b: UInt64, c: UInt64, d: UInt64) {
        (self.a, self.b, self.c, self.d) = (a, b, c, d)
    }

    init(_ digest: SHA256Digest) {
        self = digest.withUnsafeBytes { Hash32($0) }
    }

    /// The hash of 32 bytes of data, or `nil` for any other length.
    public init?(data: Data) {
        guard data.count == 32 else { return nil }
        self = data.withUnsafeBytes { Hash32($0) }
    }

    /// The bytes.
    public var data: Data { withUnsafeBytes(of: self) { Data($0) } }
}

/// RFC 6962 / RFC 9162 hashing: leaves are `SHA-256(0x00 ‖ data)`, interior nodes `SHA-256(0x01 ‖ left ‖ right)`.
public enum MerkleHash {
    static let leafPrefix: [UInt8] = [0]
    static let nodePrefix: [UInt8] = [1]

    /// The hash of a leaf's data.
    public static func leaf(_ data: Data) -> Data {
        data.withUnsafeBytes { leaf32($0) }.data
    }

    /// The hash of an interior node.
    public static func node(_ left: Data, _ right: Data) -> Data {
        guard let l = Hash32(data: left), let r = Hash32(data: right) else {
            var hasher = SHA256()
            hasher.update(data: nodePrefix)
            hasher.update(data: left)
            hasher.update(data: right)
            return Data(hasher.finalize())
        }
        return node32(l, r).data
    }

    // One-shot hashing over a stack buffer with no heap allocation: swift-crypto's `SHA256` value wraps a
    // reference-counted context (an allocation and a uniqueness check per hash), which dominated verification
    // time for 150-byte leaves. See `Digest256.hash`.
    static func leaf32(_ bytes: UnsafeRawBufferPointer) -> Hash32 {
        withUnsafeTemporaryAllocation(byteCount: bytes.count + 1, alignment: 8) { buffer in
            buffer[0] = 0
            if let base = bytes.baseAddress, bytes.count > 0 {
                UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyMemory(from: UnsafeRawBufferPointer(start: base, count: bytes.count))
            }
            return Digest256.hash(UnsafeRawBufferPointer(buffer))
        }
    }

    static func node32(_ left: Hash32, _ right: Hash32) -> Hash32 {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            buffer[0] = 1
            withUnsafeBytes(of: left) { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            withUnsafeBytes(of: right) { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            return Digest256.hash(UnsafeRawBufferPointer(buffer))
        }
    }

    /// The root of the empty tree: `SHA-256("")`.
    public static let emptyRoot = Data(SHA256.hash(data: Data()))
}

/// An in-memory append-only Merkle tree over leaf hashes, with the proofs of RFC 9162 §2.1.
///
/// It keeps the hash of every complete subtree (`levels[h][i]` covers leaves `i·2^h ..< (i+1)·2^h`), so
/// roots, proofs and C2SP tiles of any size cost O(log n) lookups — and memory grows with the tree. For
/// offline tools and verification; the running ``AuditLog`` keeps the same hashes in files instead.
public struct MerkleTree: Sendable {

    var levels: [[Hash32]] = [[]]

    public init() {}

    /// Builds a tree from leaf hashes (32 bytes each; others are ignored).
    public init(leafHashes: [Data]) {
        levels[0].reserveCapacity(leafHashes.count)
        for hash in leafHashes { if let h = Hash32(data: hash) { append(h) } }
    }

    init(leaves: [Hash32]) {
        levels[0].reserveCapacity(leaves.count)
        for leaf in leaves { append(leaf) }
    }

    /// Builds the same tree level by level, hashing each large level's pairs on all cores (full-log verification).
    init(leaves: [Hash32], workers: Int) {
        levels = [leaves]
        var height = 0
        while levels[height].count >= 2 {
            let below = levels[height]
            let pairs = below.count / 2
            let parents = [Hash32](unsafeUninitializedCapacity: pairs) { out, initialized in
                below.withUnsafeBufferPointer { buffer in
                    let chunk = max(4096, (pairs + workers - 1) / max(1, workers))
                    let chunks = (pairs + chunk - 1) / chunk
                    let child = Unchecked(buffer)
                    let write = Unchecked(out)
                    DispatchQueue.concurrentPerform(iterations: chunks) { c in
                        for i in (c * chunk)..<min(pairs, (c + 1) * chunk) {
                            write.value.baseAddress?.advanced(by: i).initialize(to: MerkleHash.node32(child.value[2 * i], child.value[2 * i + 1]))
                        }
                    }
                }
                initialized = pairs
            }
            levels.append(parents)
            height += 1
        }
    }

    /// Number of leaves.
    public var size: Int { levels[0].count }

    /// Appends a leaf hash (32 bytes), completing every subtree it closes.
    public mutating func append(leafHash: Data) {
        if let h = Hash32(data: leafHash) { append(h) }
    }

    mutating func append(_ leaf: Hash32) {
        levels[0].append(leaf)
        var height = 0
        var index = levels[0].count - 1
        while index % 2 == 1 {
            let parent = MerkleHash.node32(levels[height][index - 1], levels[height][index])
            if levels.count == height + 1 { levels.append([]) }
            levels[height + 1].append(parent)
            height += 1
            index = levels[height].count - 1
        }
    }

    /// The leaf hash at `index`.
    public func leafHash(_ index: Int) -> Data? { index >= 0 && index < size ? levels[0][index].data : nil }

    /// The hash of the complete subtree at `height` and `index`, if the tree has it.
    public func completeSubtree(height: Int, index: Int) -> Data? {
        guard height < levels.count, index >= 0, index < levels[height].count else { return nil }
        return levels[height][index].data
    }

    /// MTH of leaves `start ..< start + count` (count ≥ 1).
    func subtreeHash(start: Int, count: Int) -> Hash32 {
        MerklePaths.subtree(start: start, count: count) { levels[$0][$1] }
    }

    /// The root of the first `size` leaves.
    /// - Throws: ``AuditError`` when `size` exceeds the tree.
    public func root(size n: Int) throws -> Data {
        try MerklePaths.root(size: n, treeSize: size) { levels[$0][$1] }
    }

    /// The root of the whole tree.
    public var root: Data { size == 0 ? MerkleHash.emptyRoot : subtreeHash(start: 0, count: size).data }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
    public func inclusionProof(index: Int, size n: Int) throws -> [Data] {
        try MerklePaths.inclusion(index: index, size: n, treeSize: size) { levels[$0][$1] }
    }

    /// The consistency proof between tree sizes `old` and `new` (RFC 9162 §2.1.4.1).
    public func consistencyProof(from old: Int, to new: Int) throws -> [Data] {
        try MerklePaths.consistency(from: old, to: new, treeSize: size) { levels[$0][$1] }
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

/// Hands a buffer to parallel workers that touch disjoint slots of it (`DispatchQueue.concurrentPerform`).
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
