import Crypto
import Foundation
import SealgateCore

/// What a sealed index snapshot is bound to: its tenant × collection × class × embedder, its epoch (a counter
/// the writer raises with every snapshot of that key), the KEK version its body was sealed under, and the KEK
/// version that wraps its DEK now (they differ after a re-wrap).
public struct SnapshotBinding: Sendable, Hashable {
    public let tenant: TenantID
    public let collection: CollectionName
    public let dataClass: DataClass
    public let embedder: String
    public let epoch: UInt64
    public let kekVersion: Int
    public let dekVersion: Int

    public init(
        tenant: TenantID, collection: CollectionName, dataClass: DataClass, embedder: String, epoch: UInt64, kekVersion: Int,
        dekVersion: Int? = nil
    ) {
        self.tenant = tenant
        self.collection = collection
        self.dataClass = dataClass
        self.embedder = embedder
        self.epoch = epoch
        self.kekVersion = kekVersion
        self.dekVersion = dekVersion ?? kekVersion
    }

    /// Canonical AAD: label `sealgate-index-snapshot-v1`, the part (`dek` or `body`), then tenant, collection,
    /// class, embedder, epoch, body KEK version and (for `dek` only) the wrapping KEK version, each as a 4-byte
    /// big-endian length and UTF-8 bytes.
    func aad(dek: Bool) -> Data {
        var parts = [dek ? "dek" : "body", tenant.rawValue, collection.rawValue, dataClass.rawValue, embedder, String(epoch), String(kekVersion)]
        if dek { parts.append(String(dekVersion)) }
        var out = Data("sealgate-index-snapshot-v1".utf8)
        for part in parts { IndexSnapshotSeal.append(part, to: &out) }
        return out
    }
}

/// Sealed index snapshots: `SGSN ‖ 0x01 ‖ binding (length-prefixed fields) ‖ wrapped DEK ‖ body`, the body
/// AES-256-GCM under a fresh DEK, the DEK wrapped by the tenant × class KEK — the envelope scheme of documents,
/// with the binding as AAD of both.
public enum IndexSnapshotSeal {
    static let magic = Data("SGSN".utf8)

    /// Seals `body` under a fresh DEK wrapped by `kek` (version `binding.dekVersion`).
    /// - Throws: ``SealgateError`` (`internal_error`) if the cipher fails.
    public static func seal(_ body: Data, binding: SnapshotBinding, kek: SymmetricKey) throws -> Data {
        let dek = Envelope.makeDEK()
        let wrapped = try Envelope.seal(dek.withUnsafeBytes { Data($0) }, key: kek, aad: binding.aad(dek: true))
        return header(binding) + length(wrapped) + wrapped + (try Envelope.seal(body, key: dek, aad: binding.aad(dek: false)))
    }

    /// The binding a sealed snapshot claims (not yet authenticated).
    /// - Throws: ``SealgateError`` (`integrity_failure`) when the bytes are not a snapshot.
    public static func binding(of sealed: Data) throws -> SnapshotBinding { try parse(sealed).binding }

    /// Opens a snapshot with the KEK of version `binding(of:).dekVersion`.
    /// - Throws: ``SealgateError`` (`integrity_failure`) when the bytes, binding or key differ.
    public static func open(_ sealed: Data, kek: SymmetricKey) throws -> Data {
        let parts = try parse(sealed)
        let raw = try Envelope.open(parts.wrapped, key: kek, aad: parts.binding.aad(dek: true))
        guard raw.count == 32 else { throw SealgateError(.integrityFailure, "snapshot DEK has the wrong size") }
        return try Envelope.open(parts.body, key: SymmetricKey(data: raw), aad: parts.binding.aad(dek: false))
    }

    /// Re-wraps a snapshot's DEK from `old` to `new` (KEK version `newVersion`); the body is untouched.
    /// - Throws: ``SealgateError`` (`integrity_failure`) when `old` does not open it.
    public static func rewrap(_ sealed: Data, old: SymmetricKey, new: SymmetricKey, newVersion: Int) throws -> Data {
        let parts = try parse(sealed)
        let raw = try Envelope.open(parts.wrapped, key: old, aad: parts.binding.aad(dek: true))
        let b = parts.binding
        let moved = SnapshotBinding(
            tenant: b.tenant, collection: b.collection, dataClass: b.dataClass, embedder: b.embedder, epoch: b.epoch, kekVersion: b.kekVersion,
            dekVersion: newVersion)
        let wrapped = try Envelope.seal(raw, key: new, aad: moved.aad(dek: true))
        return header(moved) + length(wrapped) + wrapped + parts.body
    }

    static func header(_ b: SnapshotBinding) -> Data {
        var out = magic
        out.append(1)
        for part in [b.tenant.rawValue, b.collection.rawValue, b.dataClass.rawValue, b.embedder, String(b.epoch), String(b.kekVersion), String(b.dekVersion)] {
            append(part, to: &out)
        }
        return out
    }

    static func append(_ part: String, to out: inout Data) {
        out.append(length(Data(part.utf8)))
        out.append(Data(part.utf8))
    }

    static func length(_ data: Data) -> Data { withUnsafeBytes(of: UInt32(data.count).bigEndian) { Data($0) } }

    static func parse(_ sealed: Data) throws -> (binding: SnapshotBinding, wrapped: Data, body: Data) {
        let bad = SealgateError(.integrityFailure, "index snapshot is malformed")
        let bytes = [UInt8](sealed)
        guard bytes.count > 5, Data(bytes[0..<4]) == magic, bytes[4] == 1 else { throw bad }
        var offset = 5
        func field() throws -> [UInt8] {
            guard offset + 4 <= bytes.count else { throw bad }
            let n = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard n <= 1 << 30, offset + n <= bytes.count else { throw bad }
            defer { offset += n }
            return Array(bytes[offset..<(offset + n)])
        }
        func text() throws -> String { String(decoding: try field(), as: UTF8.self) }
        guard let tenant = TenantID(try text()), let collection = CollectionName(try text()), let dataClass = DataClass(try text())
        else { throw bad }
        let embedder = try text()
        guard let epoch = UInt64(try text()), let kekVersion = Int(try text()), let dekVersion = Int(try text()) else { throw bad }
        let wrapped = Data(try field())
        let body = Data(bytes[offset...])
        return (
            SnapshotBinding(
                tenant: tenant, collection: collection, dataClass: dataClass, embedder: embedder, epoch: epoch, kekVersion: kekVersion,
                dekVersion: dekVersion), wrapped, body
        )
    }
}
