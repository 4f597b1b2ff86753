import Foundation

/// The gateway's record of witnessed checkpoints: `<audit dir>/cosigned`, one JSON line `{"note": …}` per checkpoint
/// that reached the witness quorum, with its cosignature lines, oldest first. Appends are written and fsynced.
public final class CosignedNoteFile: Sendable {
    private let file: LogFile
    public let path: String

    /// Opens (creating with mode 0600) for appending.
    /// - Throws: ``AuditError`` `audit_unavailable` when it cannot be opened.
    public init(path: String) throws {
        self.path = path
        file = try LogFile(path: path)
    }

    /// Appends a cosigned note durably.
    /// - Throws: ``AuditError`` `audit_unavailable` when it could not be written and synced (nothing is kept).
    public func append(_ note: String) async throws {
        try await file.appendDurably(try AuditLog.noteLine(note))
    }

    /// The notes in a `cosigned` file, oldest first (lines that are not JSON notes are skipped).
    public static func read(_ path: String) -> [String] { AuditLog.readNotes(path) }
}
