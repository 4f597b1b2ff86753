import Crypto
import Foundation
import SealgateCore

/// The broker's master key: it seals every KEK at rest.
///
/// Loaded from a file that must be readable by its owner only (mode 0600).
public struct MasterKey: Sendable {
    let key: SymmetricKey

    /// Wraps raw key bytes (32).
    public init(raw: Data) throws {
        guard raw.count == 32 else { throw KeyBrokerError(.malformedRequest, "master key must be 32 bytes") }
        key = SymmetricKey(data: raw)
    }

    /// Loads the key from `path`, creating a random one with mode 0600 if the file does not exist.
    /// - Throws: ``KeyBrokerError`` if the file has group/other permissions or the wrong size.
    public static func loadOrCreate(path: String) throws -> MasterKey {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            let attributes = try fm.attributesOfItem(atPath: path)
            if let mode = attributes[.posixPermissions] as? NSNumber, mode.intValue & 0o077 != 0 {
                throw KeyBrokerError(.malformedRequest, "master key file \(path) must have mode 0600")
            }
            guard let data = fm.contents(atPath: path), let raw = Hex.decode(
                String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            else { throw KeyBrokerError(.malformedRequest, "master key file \(path) is not hex") }
            return try MasterKey(raw: raw)
        }
        try fm.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let raw = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        guard fm.createFile(atPath: path, contents: Data(Hex.encode(raw).utf8), attributes: [.posixPermissions: 0o600])
        else { throw KeyBrokerError(.storeUnavailable, "cannot create master key file \(path)") }
        return try MasterKey(raw: raw)
    }

    func aad(tenant: TenantID, dataClass: DataClass, version: Int) -> Data {
        Data("sealgate-kek-v1|\(tenant)|\(dataClass)|\(version)".utf8)
    }

    func seal(_ kek: SymmetricKey, tenant: TenantID, dataClass: DataClass, version: Int) throws -> Data {
        let raw = kek.withUnsafeBytes { Data($0) }
        let box = try AES.GCM.seal(raw, using: key, authenticating: aad(tenant: tenant, dataClass: dataClass, version: version))
        guard let combined = box.combined else { throw KeyBrokerError(.storeUnavailable, "sealing failed") }
        return combined
    }

    func open(_ stored: StoredKEK) throws -> SymmetricKey {
        do {
            let box = try AES.GCM.SealedBox(combined: stored.sealedKey)
            let raw = try AES.GCM.open(
                box, using: key, authenticating: aad(tenant: stored.tenant, dataClass: stored.dataClass, version: stored.version))
            return SymmetricKey(data: raw)
        } catch {
            throw KeyBrokerError(.storeUnavailable, "a stored KEK failed authentication under the master key")
        }
    }
}
