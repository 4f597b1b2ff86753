import Foundation
import SealgateCore

/// The fields a sealed value is bound to; its canonical encoding is the AES-GCM additional data.
///
/// A ciphertext moved to another tenant, collection, document, chunk position, data class, KEK version
/// or field fails to open, because its AAD no longer matches.
public struct SealingContext: Sendable, Hashable {
    /// Which field of a document a ciphertext holds.
    public enum Field: String, Sendable {
        case dek, title, metadata, text, embedding
    }

    public let tenant: TenantID
    public let collection: CollectionName
    public let documentID: DocumentID
    /// The chunk index, or `nil` for document-level fields (DEK, title, metadata).
    public let chunkIndex: Int?
    public let dataClass: DataClass
    public let kekVersion: Int
    public let field: Field

    public init(
        tenant: TenantID, collection: CollectionName, documentID: DocumentID, chunkIndex: Int?, dataClass: DataClass,
        kekVersion: Int, field: Field
    ) {
        self.tenant = tenant
        self.collection = collection
        self.documentID = documentID
        self.chunkIndex = chunkIndex
        self.dataClass = dataClass
        self.kekVersion = kekVersion
        self.field = field
    }

    /// The same context for another field or chunk.
    public func with(field: Field, chunkIndex: Int? = nil) -> SealingContext {
        SealingContext(
            tenant: tenant, collection: collection, documentID: documentID, chunkIndex: chunkIndex,
            dataClass: dataClass, kekVersion: kekVersion, field: field)
    }

    /// Canonical AAD: the label `sealgate-aad-v1`, then each field as a 4-byte big-endian length and its UTF-8
    /// bytes, in the order tenant, collection, document id, chunk index (decimal, `-` for none), data class,
    /// KEK version (decimal), field.
    public var canonicalAAD: Data { withCanonicalAAD { Data($0) } }

    /// Calls `body` with the canonical AAD in a temporary buffer (no heap allocation for typical contexts).
    func withCanonicalAAD<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let label = "sealgate-aad-v1"
        var parts = (
            tenant.rawValue, collection.rawValue, documentID.rawValue, chunkIndex.map(String.init) ?? "-",
            dataClass.rawValue, String(kekVersion), field.rawValue
        )
        let count =
            label.utf8.count + 7 * 4 + parts.0.utf8.count + parts.1.utf8.count + parts.2.utf8.count + parts.3.utf8.count
            + parts.4.utf8.count + parts.5.utf8.count + parts.6.utf8.count
        return try withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
            var offset = 0
            func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + bytes.count)]).copyMemory(from: UnsafeRawBufferPointer(bytes))
                offset += bytes.count
            }
            func field(_ part: inout String) {
                part.withUTF8 { bytes in
                    let n = UInt32(bytes.count).bigEndian
                    withUnsafeBytes(of: n) { put($0.assumingMemoryBound(to: UInt8.self)) }
                    put(bytes)
                }
            }
            var head = label
            head.withUTF8 { put($0) }
            field(&parts.0)
            field(&parts.1)
            field(&parts.2)
            field(&parts.3)
            field(&parts.4)
            field(&parts.5)
            field(&parts.6)
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }
}
