import Crypto
import Foundation
import SealgateCore

/// Protects key material at rest. ``MasterKey`` is the file/environment implementation; a PKCS#11 token or a cloud
/// KMS fits behind the same port (seal and open with associated data, never exporting the wrapping key).
public protocol KeyProtector: Sendable {
    /// A short identifier of the protecting key (not secret), for logs and key-rotation bookkeeping.
    var keyID: String { get }
    /// Encrypts and authenticates `plaintext`, binding `aad`.
    func seal(_ plaintext: Data, aad: Data) throws -> Data
    /// Opens a value sealed with the same `aad`.
    /// - Throws: ``KeyBrokerError`` `storage_unavailable` when authentication fails.
    func open(_ sealed: Data, aad: Data) throws -> Data
}

/// The broker's master key (AES-256-GCM): it seals every KEK and secret at rest.
///
/// Loaded from the environment variable `SEALGATE_BROKER_MASTER_KEY` (64 hex digits) or from a file that must be
/// readable by its owner only (mode 0600), created on first start.
public struct MasterKey: KeyProtector {
    let key: SymmetricKey
    public let keyID: String

    /// The environment variable that, when set, holds the master key in hex.
    public static let environmentVariable = "SEALGATE_BROKER_MASTER_KEY"

    /// Wraps raw key bytes (32).
    public init(raw: Data) throws {
        guard raw.count == 32 else { throw KeyBrokerError(.masterKeyRefused, "master key must be 32 bytes") }
        key = SymmetricKey(data: raw)
        keyID = "mk-" + Hex.encode(SHA256.hash(data: Data("sealgate-master-key-id".utf8) + raw)).prefix(16)
    }

    /// The key from `SEALGATE_BROKER_MASTER_KEY` when set, else from `path` (created with mode 0600 if absent).
    /// - Throws: ``KeyBrokerError`` if the file has group/other permissions, is not hex, or has the wrong size.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MasterKey {
        if let hex = environment[environmentVariable] {
            guard let raw = Hex.decode(hex.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw KeyBrokerError(.masterKeyRefused, "\(environmentVariable) is not hex")
            }
            return try MasterKey(raw: raw)
        }
        return try loadOrCreate(path: path)
    }

    /// Loads the key from `path`, creating a random one with mode 0600 if the file does not exist.
    /// - Throws: ``KeyBrokerError`` if the file has group/other permissions or the wrong size.
    public static func loadOrCreate(path: String) throws -> MasterKey {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            let attributes = try fm.attributesOfItem(atPath: path)
            if let mode = attributes[.posixPermissions] as? NSNumber, mode.intValue & 0o077 != 0 {
                throw KeyBrokerError(.masterKeyRefused, "master key file \(path) must have mode 0600")
            }
            guard let data = fm.contents(atPath: path), let raw = Hex.decode(
                String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            else { throw KeyBrokerError(.masterKeyRefused, "master key file \(path) is not hex") }
            return try MasterKey(raw: raw)
        }
        try fm.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let raw = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        guard fm.createFile(atPath: path, contents: Data(Hex.encode(raw).utf8), attributes: [.posixPermissions: 0o600])
        else { throw KeyBrokerError(.storageUnavailable, "cannot create master key file \(path)") }
        return try MasterKey(raw: raw)
    }

    public func seal(_ plaintext: Data, aad: Data) throws -> Data {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: aad)
        guard let combined = box.combined else { throw KeyBrokerError(.storageUnavailable, "sealing failed") }
        return combined
    }

    public func open(_ sealed: Data, aad: Data) throws -> Data {
        do {
            return try AES.GCM.open(try AES.GCM.SealedBox(combined: sealed), using: key, authenticating: aad)
        } catch {
            throw KeyBrokerError(.storageUnavailable, "a stored key failed authentication under the master key")
        }
    }
}

/// The associated data that binds sealed values to their identity, so a row moved to another tenant, class or
/// version fails to open.
enum SealingAAD {
    static func kek(tenant: TenantID, dataClass: DataClass, version: Int) -> Data {
        Data("sealgate-kek-v1|\(tenant)|\(dataClass)|\(version)".utf8)
    }

    static func secret(tenant: TenantID, name: String) -> Data {
        Data("sealgate-secret-v1|\(tenant)|\(name)".utf8)
    }

    static func model(tenant: TenantID, name: String) -> Data {
        Data("sealgate-model-key-v1|\(tenant)|\(name)".utf8)
    }
}
