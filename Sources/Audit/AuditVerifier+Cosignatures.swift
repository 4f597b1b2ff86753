import Foundation

/// The outcome of checking a checkpoint's witness cosignatures against a k-of-n policy.
public struct CosignatureCheck: Sendable, Equatable {
    /// The witnesses (key names) whose cosignature verified, in the order they were given.
    public var cosigners: [String] = []
    /// The time each of them cosigned (POSIX seconds).
    public var times: [String: UInt64] = [:]
    /// Problems found: an invalid cosignature by a known key, a future timestamp, an impossible quorum.
    public var failures: [String] = []
    /// How many valid cosignatures the policy requires.
    public var quorum: Int

    /// Whether the policy holds: no known key signed badly and at least `quorum` distinct witnesses cosigned.
    public var meetsQuorum: Bool { failures.isEmpty && cosigners.count >= quorum }
}

extension AuditVerifier {
    /// Checks the `cosignature/v1` lines of a signed checkpoint note against a witness policy.
    ///
    /// Lines of unknown names or key ids are ignored (C2SP signed-note). A line of a known witness that does not
    /// verify rejects the note (it is a forgery, or a cosignature over another text), as does a timestamp more than
    /// `maxClockSkew` seconds after `now`. Duplicate witness keys count once, whatever names they are listed under
    /// (the cosigned message does not include the name, so one witness's line copied under a second name would
    /// otherwise count twice). The log's own signature is not checked
    /// here: see ``verifyWitnessedCheckpoint(note:log:witnesses:quorum:now:)``.
    /// - Parameters:
    ///   - note: the checkpoint note with its signature lines, as `GET /audit/checkpoint` serves it.
    ///   - witnesses: the witnesses' verifier keys (``CosignatureVerifier/init(encoded:)``).
    ///   - quorum: how many of them must have cosigned (k of n); must be from 1 to the number of distinct witnesses.
    /// - Returns: the finding; ``CosignatureCheck/meetsQuorum`` says whether the policy holds.
    public static func verifyCosignatures(
        note: String, witnesses: [CosignatureVerifier], quorum: Int, now: Date = Date(), maxClockSkew: TimeInterval = 600
    ) -> CosignatureCheck {
        var check = CosignatureCheck(quorum: quorum)
        var distinct: [CosignatureVerifier] = []
        for witness in witnesses where !distinct.contains(where: { $0.publicKey.rawRepresentation == witness.publicKey.rawRepresentation }) {
            distinct.append(witness)
        }
        guard quorum >= 1, quorum <= distinct.count else {
            check.failures.append("a quorum of \(quorum) cannot be met by \(distinct.count) distinct witness keys")
            return check
        }
        guard let parsed = try? SignedNote(note) else {
            check.failures.append("not a signed note")
            return check
        }
        let latest = now.timeIntervalSince1970 + maxClockSkew
        for witness in distinct {
            switch witness.check(parsed) {
            case .absent: continue
            case .invalid: check.failures.append("\(witness.name): cosignature does not verify (forged, or over another checkpoint)")
            case .valid(let time) where Double(time) > latest:
                check.failures.append("\(witness.name): cosignature is dated \(time), in the future")
            case .valid(let time):
                check.cosigners.append(witness.name)
                check.times[witness.name] = time
            }
        }
        return check
    }

    /// Verifies a witnessed checkpoint: the log's signature, the checkpoint's form and origin, and at least `quorum`
    /// valid witness cosignatures. This is the one call receipts and other offline checks need.
    /// - Returns: the checkpoint (origin, size, root) the note and its witnesses vouch for.
    /// - Throws: ``AuditError`` `bad_signature` when the log's signature does not verify, the text is not a checkpoint
    ///   of the key's log, or the policy does not hold (the message names the witnesses found and the failures).
    public static func verifyWitnessedCheckpoint(
        note: String, log: NoteVerifier, witnesses: [CosignatureVerifier], quorum: Int, now: Date = Date()
    ) throws -> Checkpoint {
        let checkpoint = try Checkpoint(body: try log.open(note))
        guard checkpoint.origin.utf8.elementsEqual(log.name.utf8) else {
            throw AuditError(.badSignature, "checkpoint origin '\(checkpoint.origin)' is not the log '\(log.name)'")
        }
        let check = verifyCosignatures(note: note, witnesses: witnesses, quorum: quorum, now: now)
        guard check.meetsQuorum else {
            let found = check.cosigners.isEmpty ? "none" : check.cosigners.joined(separator: ", ")
            let failures = check.failures.isEmpty ? "" : "; " + check.failures.joined(separator: "; ")
            throw AuditError(
                .badSignature,
                "checkpoint of size \(checkpoint.size) has \(check.cosigners.count) of the \(quorum) witness cosignatures required (valid: \(found))\(failures)")
        }
        return checkpoint
    }
}

extension AuditVerifier {
    /// Verifies a log directory as ``verify(directory:verifier:readBlockSize:)`` does, and also requires a witnessed
    /// checkpoint: the newest note in `<directory>/cosigned` that carries the log's signature and `quorum` valid
    /// cosignatures of `witnesses`. That note joins the checkpoints the tree is checked against (its root must be the
    /// root of the entries at its size and consistent with the other checkpoints). Without one, the report fails.
    /// - Returns: the report, with ``AuditVerification/witnessed`` and ``AuditVerification/witnessedBy`` set when found.
    /// - Throws: as ``verify(directory:verifier:readBlockSize:)``.
    public static func verify(
        directory: String, verifier: NoteVerifier?, witnesses: [CosignatureVerifier], quorum: Int, now: Date = Date()
    ) throws -> AuditVerification {
        let key = try logKey(directory: directory, verifier: verifier)
        var notes = AuditLog.readNotes(directory + "/checkpoints")
        var found: (note: String, checkpoint: Checkpoint)?
        for note in CosignedNoteFile.read(directory + "/cosigned").reversed() {
            if let checkpoint = try? verifyWitnessedCheckpoint(note: note, log: key, witnesses: witnesses, quorum: quorum, now: now) {
                found = (note, checkpoint)
                break
            }
        }
        if let found {
            let sizes = notes.map { (try? Checkpoint(body: key.open($0)))?.size ?? -1 }
            notes.insert(found.note, at: sizes.firstIndex(where: { $0 > found.checkpoint.size }) ?? notes.count)
        }
        var report = EntriesFileScan(path: directory + "/entries", blockSize: 1 << 20).verify(notes: notes, verifier: key)
        if let found {
            report.witnessed = found.checkpoint
            report.witnessedBy = verifyCosignatures(note: found.note, witnesses: witnesses, quorum: quorum, now: now).cosigners
        } else {
            report.failures.append(
                "no checkpoint in \(directory)/cosigned carries \(quorum) valid cosignatures of the \(witnesses.count) witnesses given")
        }
        return report
    }
}
