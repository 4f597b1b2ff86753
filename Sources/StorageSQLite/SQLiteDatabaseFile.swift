import Foundation
import Logging
import NIOCore
import SQLiteNIO
import SealgateCore

/// One SQLite file behind an actor: statements run one at a time, transactions never interleave.
public actor SQLiteDatabaseFile {
    let connection: SQLiteConnection

    /// Opens (creating if needed) the file, enables WAL and foreign keys, and runs `schema`.
    /// - Throws: ``SealgateError`` with `storage_unavailable` when the file cannot be opened.
    public init(path: String, schema: [String], logger: Logger) async throws {
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await connection.query("PRAGMA journal_mode=WAL")
            _ = try await connection.query("PRAGMA synchronous=FULL")
            _ = try await connection.query("PRAGMA foreign_keys=ON")
            for statement in schema { _ = try await connection.query(statement) }
        } catch {
            throw SealgateError(.storageUnavailable, "cannot open SQLite database at \(path)")
        }
    }

    // Actor methods are reentrant across `await`: without this lock a second call could run its statements
    // in the middle of another call's transaction on the same connection.
    private let serial = AsyncMutex()

    /// Runs one statement.
    public func query(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        await serial.lock()
        let result: Result<[SQLiteRow], any Error>
        do { result = .success(try await connection.query(sql, binds)) } catch {
            result = .failure(SealgateError(.storageUnavailable, "SQLite statement failed"))
        }
        await serial.unlock()
        return try result.get()
    }

    /// Runs statements in one `BEGIN IMMEDIATE` transaction, rolling back on failure.
    public func transaction(_ statements: [(String, [SQLiteData])]) async throws {
        await serial.lock()
        var failure: (any Error)?
        do {
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                for (sql, binds) in statements { _ = try await connection.query(sql, binds) }
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        } catch {
            failure = SealgateError(.storageUnavailable, "SQLite transaction failed")
        }
        await serial.unlock()
        if let failure { throw failure }
    }

    /// Closes the connection.
    public func close() async {
        try? await connection.close()
    }
}

extension SQLiteData {
    static func bytes(_ data: Data) -> SQLiteData { .blob(ByteBuffer(bytes: data)) }

    var data: Data? {
        guard case .blob(var buffer) = self else { return nil }
        return buffer.readData(length: buffer.readableBytes)
    }
}

extension ByteBuffer {
    mutating func readData(length: Int) -> Data? {
        guard let bytes = readBytes(length: length) else { return nil }
        return Data(bytes)
    }
}
