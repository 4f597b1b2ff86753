import Audit
import Crypto
import Foundation
import SealgateCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a witness remembers of one log: the size and root hash of the latest checkpoint it cosigned.
public struct WitnessedTree: Sendable, Equatable, Codable {
    public let origin: String
    public let size: Int
    public let root: Data

    public init(origin: String, size: Int, root: Data) {
        self.origin = origin
        self.size = size
        self.root = root
    }
}

/// Durable per-log witness state: one file per log, `<dir>/<hex SHA-256 of the origin>`, JSON
/// `{"origin","root","size"}`. A save writes a temporary file, fsyncs it, renames it over the old one and fsyncs the
/// directory, so a crash leaves either the old or the new state, never a torn one.
///
/// Not thread-safe: ``Witness`` calls it from its one serial queue.
public struct WitnessStateStore: Sendable {
    public let directory: String

    /// Creates the directory (mode 0700) if needed.
    /// - Throws: ``WitnessError`` `state_unavailable` when it cannot be created.
    public init(directory: String) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw WitnessError(.stateUnavailable, "cannot create \(directory)")
        }
    }

    func path(_ origin: String) -> String {
        directory + "/" + Hex.encode(Data(SHA256.hash(data: Data(origin.utf8))))
    }

    /// The stored state of `origin`, or `nil` when the witness never cosigned it.
    /// - Throws: ``WitnessError`` `state_unavailable` when a state file exists but cannot be read or is not this log's.
    public func load(_ origin: String) throws -> WitnessedTree? {
        let file = path(origin)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file), let state = try? JSONDecoder().decode(WitnessedTree.self, from: data),
            state.origin == origin, state.size >= 0, state.root.count == 32
        else { throw WitnessError(.stateUnavailable, "witness state \(file) is unreadable or not of \(origin): refusing to guess") }
        return state
    }

    /// Replaces the state of `state.origin` durably.
    /// - Throws: ``WitnessError`` `state_unavailable` when it could not be written, synced or renamed (the old state stays).
    public func save(_ state: WitnessedTree) throws {
        let target = path(state.origin)
        let temporary = target + ".tmp"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(state) else { throw WitnessError(.stateUnavailable, "cannot encode the witness state") }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WitnessError(.stateUnavailable, "cannot open \(temporary)") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw WitnessError(.stateUnavailable, "cannot write \(target)")
        }
        let dir = open(directory, O_RDONLY | O_CLOEXEC)
        defer { if dir >= 0 { close(dir) } }
        guard dir >= 0, fsync(dir) == 0 else { throw WitnessError(.stateUnavailable, "cannot sync \(directory)") }
    }
}
