import Crypto
import Foundation

/// Verification of one transparency log entry: the log is known, the body describes the bundle, the inclusion
/// promise (Rekor v1) and the inclusion proof with its signed checkpoint verify.
enum TransparencyLog {
    /// What a verified entry contributes.
    struct Verified {
        let log: TrustedRoot.Log
        /// Rekor v1 integrated time, present only when the signed entry timestamp verified.
        let integratedTime: Date?
    }

    /// Verifies an entry against the trusted root.
    /// - Throws: ``SigstoreError`` `unknown_tlog`, `tlog_body_mismatch`, `unsupported_entry_kind`, `set_invalid`,
    ///   `inclusion_proof_invalid` or `checkpoint_invalid`.
    static func verify(_ entry: TlogEntry, root: PreparedTrustedRoot, expected: LoggedSignature) throws -> Verified {
        guard let log = root.trustedRoot.tlog(id: entry.logID) else {
            throw SigstoreError(.unknownTlog, "the log entry's log id \(entry.logID.base64EncodedString()) is not in the trusted root")
        }
        try RekorBody.check(entry, matches: expected)
        var integrated: Date?
        if let set = entry.signedEntryTimestamp {
            guard let time = entry.integratedTime else { throw SigstoreError(.setInvalid, "an inclusion promise without integrated time") }
            let payload = "{\"body\":\"\(entry.canonicalizedBodyBase64)\",\"integratedTime\":\(time),"
                + "\"logID\":\"\(entry.logID.hexString)\",\"logIndex\":\(entry.logIndex)}"
            guard log.key.isValidSignature(set, for: Data(payload.utf8)) else {
                throw SigstoreError(.setInvalid, "the signed entry timestamp does not verify with the log's key")
            }
            let date = Date(timeIntervalSince1970: TimeInterval(time))
            guard log.validity.contains(date) else {
                throw SigstoreError(.unknownTlog, "the log's key was not valid at the entry's integrated time")
            }
            integrated = date
        }
        guard let proof = entry.inclusionProof else {
            throw SigstoreError(.inclusionProofInvalid, "the log entry has no inclusion proof")
        }
        // Rekor v2 (entry version 0.0.2) logs are not sharded: the entry's index is the proof's.
        guard entry.version != "0.0.2" || proof.logIndex == entry.logIndex else {
            throw SigstoreError(.inclusionProofInvalid, "the entry's log index differs from its inclusion proof's")
        }
        let leaf = hash([0x00], entry.canonicalizedBody)
        guard proof.logIndex >= 0, proof.logIndex < proof.treeSize,
            Self.rootHash(leaf: leaf, index: proof.logIndex, size: proof.treeSize, path: proof.hashes) == proof.rootHash
        else { throw SigstoreError(.inclusionProofInvalid, "the inclusion proof does not lead to its root hash") }
        guard let note = proof.checkpoint else {
            throw SigstoreError(.inclusionProofInvalid, "the inclusion proof has no checkpoint")
        }
        try SignedCheckpoint.verify(
            note, log: log, hints: root.checkpointHints[log.logID] ?? SignedCheckpoint.keyHints(log), size: proof.treeSize, rootHash: proof.rootHash)
        return Verified(log: log, integratedTime: integrated)
    }

    /// RFC 9162 §2.1.3.2: the root a leaf hash and an audit path lead to, or nil when the path has the wrong length.
    static func rootHash(leaf: Data, index: Int64, size: Int64, path: [Data]) -> Data? {
        var fn = index
        var sn = size - 1
        var r = leaf
        for p in path {
            guard sn != 0, p.count == 32 else { return nil }
            if fn & 1 == 1 || fn == sn {
                r = hash([0x01], p + r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = hash([0x01], r + p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 ? r : nil
    }

    static func hash(_ prefix: [UInt8], _ data: Data) -> Data {
        var h = SHA256()
        h.update(data: prefix)
        h.update(data: data)
        return Data(h.finalize())
    }
}

/// A C2SP signed-note checkpoint (tlog-checkpoint): `origin`, tree size, base64 root hash, optional extension lines,
/// a blank line, then `— <name> <base64(key hint ‖ signature)>` lines.
enum SignedCheckpoint {
    /// Requires a signature by the log's key and the size and root hash the proof names.
    /// - Throws: ``SigstoreError`` `checkpoint_invalid`.
    /// - Parameter hints: the log's key hints (``keyHints(_:)``, computed once with the prepared root).
    static func verify(_ note: String, log: TrustedRoot.Log, hints: Set<Data>, size: Int64, rootHash: Data) throws {
        guard let split = note.range(of: "\n\n") else {
            throw SigstoreError(.checkpointInvalid, "the checkpoint is not a signed note")
        }
        let text = String(note[..<split.lowerBound]) + "\n"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, !lines[0].isEmpty, let treeSize = Int64(lines[1]), String(treeSize) == lines[1],
            let root = Data(base64Encoded: String(lines[2]))
        else { throw SigstoreError(.checkpointInvalid, "the checkpoint body is malformed") }
        guard treeSize == size, root == rootHash else {
            throw SigstoreError(.checkpointInvalid, "the checkpoint's size or root hash differs from the inclusion proof")
        }
        let signatures = note[split.upperBound...]
        guard signatures.hasSuffix("\n") else { throw SigstoreError(.checkpointInvalid, "the checkpoint's signatures do not end with a newline") }
        var verified = false
        for line in signatures.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "\u{2014}", !parts[1].isEmpty, let blob = Data(base64Encoded: String(parts[2])), blob.count > 4
            else { throw SigstoreError(.checkpointInvalid, "a checkpoint signature line is malformed") }
            if hints.contains(Data(blob.prefix(4))), log.key.isValidSignature(Data(blob.dropFirst(4)), for: Data(text.utf8)) { verified = true }
        }
        if verified { return }
        throw SigstoreError(.checkpointInvalid, "no checkpoint signature verifies with the log's key")
    }

    /// Key hints a log's note signatures may carry: the first 4 bytes of the log id (Rekor), and for Ed25519 keys
    /// the C2SP key id SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[0..<4] for the log's host name.
    static func keyHints(_ log: TrustedRoot.Log) -> Set<Data> {
        var hints: Set<Data> = [Data(log.logID.prefix(4))]
        if case .ed25519(let key) = log.key.backing {
            let host = log.baseURL.replacingOccurrences(of: "https://", with: "")
            var input = Data(host.utf8)
            input.append(contentsOf: [0x0a, 0x01])
            input.append(key.rawRepresentation)
            hints.insert(Data(SHA256.hash(data: input).prefix(4)))
        }
        return hints
    }
}
