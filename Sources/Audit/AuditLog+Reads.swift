import Foundation

/// Reads served from the files: entries, entry bundles, hash tiles and proofs. Each reads what it returns (and
/// O(log n) hashes), so nothing of the log is held in memory between requests; the operating system's page
/// cache keeps recently read tiles.
extension AuditLog {
    /// The canonical leaf bytes at `index` (`nil` when the log has no such entry or it cannot be read back intact).
    public func entry(_ index: Int) -> Data? {
        guard index >= 0, index < size else { return nil }
        return try? readEntries(index..<(index + 1)).first
    }

    /// Leaves `start ..< end`, clamped to the log; stops early if an entry cannot be read back intact.
    public func entries(_ range: Range<Int>) -> [Data] {
        let clamped = max(0, range.lowerBound)..<max(max(0, range.lowerBound), min(size, range.upperBound))
        var out: [Data] = []
        out.reserveCapacity(clamped.count)
        var start = clamped.lowerBound
        while start < clamped.upperBound {
            let end = min(clamped.upperBound, (start / TlogTiles.width + 1) * TlogTiles.width)
            guard let part = try? readEntries(start..<end) else { break }
            out += part
            start = end
        }
        return out
    }

    /// Entries `range` (inside the log), read from the entries file bundle by bundle and checked against their
    /// stored leaf hashes.
    /// - Throws: ``AuditError`` `audit_corrupt` when an entry cannot be read or differs from its leaf hash.
    func readEntries(_ range: Range<Int>) throws -> [Data] {
        let width = TlogTiles.width
        var out: [Data] = []
        out.reserveCapacity(range.count)
        var k = range.lowerBound / width
        while k * width < range.upperBound {
            let start = try treeFiles.bundleOffset(k)
            let end = (k + 1) * width < size ? try treeFiles.bundleOffset(k + 1) : entriesLength
            guard start >= 0, start <= end, end <= entriesLength, end - start <= width * (4 + 65_535) else {
                throw AuditError(.corrupt, "the stored offsets of entry bundle \(k) are not inside \(directory)/entries")
            }
            let bytes = [UInt8](try entriesReader.read(at: start, count: end - start))
            let ranges = AuditEncoding.entryRanges(bytes).ranges
            let first = max(range.lowerBound, k * width)
            let last = min(range.upperBound, (k + 1) * width, k * width + ranges.count)
            let stored = try treeFiles.nodes(height: 0, start: first, count: last - first)
            for index in first..<last {
                let entry = Data(bytes[ranges[index - k * width]])
                let offset = (index - first) * 32
                let leaf = stored.withUnsafeBytes { Hash32(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + 32)])) }
                guard entry.withUnsafeBytes(MerkleHash.leaf32) == leaf else {
                    throw AuditError(.corrupt, "entry \(index) differs from its stored leaf hash")
                }
                out.append(entry)
            }
            guard last == min(range.upperBound, (k + 1) * width) else {
                throw AuditError(.corrupt, "entry \(last) cannot be read from \(directory)/entries")
            }
            k += 1
        }
        return out
    }

    /// The hash of the complete subtree at `height` and `index`, from the hash files.
    func storedNode(_ height: Int, _ index: Int) throws -> Hash32 {
        try treeFiles.node(height: height, index: index)
    }

    /// The root of the first `size` leaves.
    func root(size n: Int) throws -> Data {
        n == size ? edge.root : try MerklePaths.root(size: n, treeSize: size, storedNode)
    }

    /// Inclusion proof of `index` in the tree of `size`.
    /// - Throws: ``AuditError`` `bad_request` when the tree of `size` has no leaf `index`; `audit_corrupt` when a
    ///   hash file cannot be read.
    public func inclusionProof(index: Int, size: Int) throws -> (leafHash: Data, proof: [Data], root: Data) {
        let proof = try MerklePaths.inclusion(index: index, size: size, treeSize: self.size, storedNode)
        let leaf = try storedNode(0, index).data
        let root = try root(size: size)
        // Hashes before the latest checkpoint's bundle are not re-read at start-up: check what they give.
        guard MerkleProof.verifyInclusion(index: index, size: size, leafHash: leaf, proof: proof, root: root) else {
            throw Self.damagedHashes
        }
        return (leaf, proof, root)
    }

    static var damagedHashes: AuditError {
        AuditError(.corrupt, "the audit hash files disagree with each other; stop the log and delete its tree/ directory to rebuild them")
    }

    /// Consistency proof between two sizes.
    /// - Throws: ``AuditError`` `bad_request` when the sizes are out of order or beyond the log; `audit_corrupt`
    ///   when a hash file cannot be read.
    public func consistencyProof(from old: Int, to new: Int) throws -> (proof: [Data], oldRoot: Data, newRoot: Data) {
        let proof = try MerklePaths.consistency(from: old, to: new, treeSize: size, storedNode)
        let (oldRoot, newRoot) = (try root(size: old), try root(size: new))
        guard MerkleProof.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot, proof: proof) else {
            throw Self.damagedHashes
        }
        return (proof, oldRoot, newRoot)
    }

    /// A tlog-tiles hash tile (see ``TlogTiles``).
    /// - Throws: ``AuditError`` `bad_request` when the log does not have it yet.
    public func tile(level: Int, index: Int, width: Int) throws -> Data {
        try TlogTiles.hashTile(treeSize: size, level: level, index: index, width: width) { height, start, count in
            try treeFiles.nodes(height: height, start: start, count: count)
        }
    }

    /// A tlog-tiles entry bundle.
    /// - Throws: ``AuditError`` `bad_request` when the log does not have it yet; `audit_corrupt` when its entries
    ///   cannot be read back intact.
    public func entryBundle(index: Int, width: Int) throws -> Data {
        let start = try TlogTiles.bundleStart(index: index, width: width, available: size)
        return TlogTiles.bundle(try readEntries(start..<(start + width)))
    }
}

extension AuditLog {
    /// The stored leaf hash of entry `index` (`nil` when the log has no such entry or the hash cannot be read).
    public func leafHash(_ index: Int) -> Data? {
        guard index >= 0, index < size else { return nil }
        return try? storedNode(0, index).data
    }

    /// The `tlog-proof` of entry `index` in the checkpoint `note` (signed by this log, with any cosignatures), with
    /// `entry` — the entry's canonical bytes, as ``entry(_:)`` returned them to the caller — as its `extra` line, so
    /// a caller that already read the entry (to check who may see it) does not read it again.
    /// - Throws: ``AuditError`` `bad_request` when the note is not this log's checkpoint or does not cover `index`,
    ///   or `entry` is not the entry at `index` (its leaf hash is not the stored one); `audit_corrupt` when the
    ///   hashes cannot be read back intact.
    public func receiptProof(index: Int, entry: Data, note: String) throws -> TlogProof {
        let checkpoint = try Checkpoint(body: try verifier.open(note))
        guard checkpoint.origin == origin, index >= 0, index < checkpoint.size, checkpoint.size <= size else {
            throw AuditError(.badRequest, "the checkpoint does not cover entry \(index)")
        }
        let proof = try inclusionProof(index: index, size: checkpoint.size)
        guard entry.withUnsafeBytes(MerkleHash.leaf32).data == proof.leafHash else {
            throw AuditError(.badRequest, "the bytes given are not entry \(index)")
        }
        guard proof.root == checkpoint.root else { throw AuditError(.corrupt, "the tree's root at \(checkpoint.size) is not the checkpoint's") }
        return TlogProof(extra: entry, index: UInt64(index), proof: proof.proof, checkpoint: note)
    }
}
