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
        var out = Data("sealgate-aad-v1".utf8)
        let parts = [
            tenant.rawValue, collection.rawValue, documentID.rawValue, chunkIndex.map(String.init) ?? "-",
            dataClass.rawValue, String(kekVersion), field.rawValue,
        ]
        for part in parts {
            let bytes = Data(part.utf8)
            var length = UInt32(bytes.count).bigEndian
            withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
            out.append(bytes)
        }
        return out
    }
}
