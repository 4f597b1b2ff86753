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
    public var canonicalAAD: Data {
        var out = [UInt8]()
        out.reserveCapacity(96 + tenant.rawValue.utf8.count + collection.rawValue.utf8.count + documentID.rawValue.utf8.count)
        out.append(contentsOf: "sealgate-aad-v1".utf8)
        func append(_ part: String) {
            var part = part
            part.withUTF8 { bytes in
                let n = UInt32(bytes.count)
                out.append(UInt8(truncatingIfNeeded: n >> 24))
                out.append(UInt8(truncatingIfNeeded: n >> 16))
                out.append(UInt8(truncatingIfNeeded: n >> 8))
                out.append(UInt8(truncatingIfNeeded: n))
                out.append(contentsOf: bytes)
            }
        }
        append(tenant.rawValue)
        append(collection.rawValue)
        append(documentID.rawValue)
        append(chunkIndex.map(String.init) ?? "-")
        append(dataClass.rawValue)
        append(String(kekVersion))
        append(field.rawValue)
        return Data(out)
    }
}
