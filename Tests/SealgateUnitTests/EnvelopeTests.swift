import Crypto
import Foundation
import SealgateCore
import Sealing
import Testing

@Suite("Envelope encryption binds every ciphertext to its place")
struct EnvelopeTests {
    static let origin = SealingContext(
        tenant: TenantID(unchecked: "acme"), collection: CollectionName(unchecked: "handbook"),
        documentID: DocumentID(unchecked: "doc-1"), chunkIndex: 3, dataClass: DataClass(unchecked: "internal"),
        kekVersion: 1, field: .text)

    static let moved: [(String, SealingContext)] = [
        ("another tenant", SealingContext(tenant: TenantID(unchecked: "globex"), collection: origin.collection, documentID: origin.documentID, chunkIndex: 3, dataClass: origin.dataClass, kekVersion: 1, field: .text)),
        ("another collection", SealingContext(tenant: origin.tenant, collection: CollectionName(unchecked: "clinical"), documentID: origin.documentID, chunkIndex: 3, dataClass: origin.dataClass, kekVersion: 1, field: .text)),
        ("another document", SealingContext(tenant: origin.tenant, collection: origin.collection, documentID: DocumentID(unchecked: "doc-2"), chunkIndex: 3, dataClass: origin.dataClass, kekVersion: 1, field: .text)),
        ("another chunk position", origin.with(field: .text, chunkIndex: 4)),
        ("a document-level slot", origin.with(field: .text, chunkIndex: nil)),
        ("another data class", SealingContext(tenant: origin.tenant, collection: origin.collection, documentID: origin.documentID, chunkIndex: 3, dataClass: DataClass(unchecked: "restricted"), kekVersion: 1, field: .text)),
        ("another KEK version", SealingContext(tenant: origin.tenant, collection: origin.collection, documentID: origin.documentID, chunkIndex: 3, dataClass: origin.dataClass, kekVersion: 2, field: .text)),
        ("another field", origin.with(field: .embedding, chunkIndex: 3)),
    ]

    @Test("A sealed chunk opens in its own context")
    func roundTrip() throws {
        let key = Envelope.makeDEK()
        let sealed = try Envelope.seal(Data("hello chunk".utf8), key: key, context: Self.origin)
        #expect(try Envelope.open(sealed, key: key, context: Self.origin) == Data("hello chunk".utf8))
        #expect(sealed.range(of: Data("hello chunk".utf8)) == nil)
    }

    @Test("A ciphertext moved elsewhere fails to open", arguments: 0..<moved.count)
    func movedCiphertextFails(_ i: Int) throws {
        let key = Envelope.makeDEK()
        let sealed = try Envelope.seal(Data("secret".utf8), key: key, context: Self.origin)
        let error = #expect(throws: SealgateError.self, "\(Self.moved[i].0)") {
            try Envelope.open(sealed, key: key, context: Self.moved[i].1)
        }
        #expect(error?.code == .integrityFailure)
    }

    @Test("A flipped byte, a wrong key or a truncated value fails to open")
    func tampering() throws {
        let key = Envelope.makeDEK()
        var sealed = try Envelope.seal(Data("secret".utf8), key: key, context: Self.origin)
        #expect(throws: SealgateError.self) { try Envelope.open(sealed, key: Envelope.makeDEK(), context: Self.origin) }
        #expect(throws: SealgateError.self) { try Envelope.open(sealed.prefix(20), key: key, context: Self.origin) }
        sealed[sealed.count - 1] ^= 1
        #expect(throws: SealgateError.self) { try Envelope.open(sealed, key: key, context: Self.origin) }
    }

    @Test("A DEK wrapped for one document does not unwrap for another")
    func dekWrapping() throws {
        let kek = SymmetricKey(size: .bits256)
        let dek = Envelope.makeDEK()
        let wrapped = try Envelope.wrap(dek: dek, kek: kek, context: Self.origin)
        let unwrapped = try Envelope.unwrap(wrapped, kek: kek, context: Self.origin)
        #expect(unwrapped == dek)
        #expect(throws: SealgateError.self) { try Envelope.unwrap(wrapped, kek: kek, context: Self.moved[2].1) }
    }

    @Test("Canonical AAD is length-prefixed and pinned")
    func canonicalAAD() {
        let aad = Self.origin.canonicalAAD
        #expect(String(decoding: aad.prefix(15), as: UTF8.self) == "sealgate-aad-v1")
        // Golden bytes, computed independently (Python struct.pack('>I', len) + utf-8 per field).
        #expect(
            Hex.encode(aad)
                == "7365616c676174652d6161642d76310000000461636d650000000868616e64626f6f6b00000005646f632d3100000001"
                + "3300000008696e7465726e616c00000001310000000474657874")
        // Field boundaries cannot be shifted ("ab"+"c" ≠ "a"+"bc").
        let shifted = SealingContext(tenant: TenantID(unchecked: "acmeh"), collection: CollectionName(unchecked: "andbook"), documentID: Self.origin.documentID, chunkIndex: 3, dataClass: Self.origin.dataClass, kekVersion: 1, field: .text)
        #expect(shifted.canonicalAAD != aad)
    }

    @Test("Embedding vectors round-trip through their byte encoding")
    func vectors() throws {
        let v: [Float] = [0, 1.5, -2.25, .leastNonzeroMagnitude]
        #expect(try Envelope.decodeVector(Envelope.encode(vector: v)) == v)
        #expect(throws: SealgateError.self) { try Envelope.decodeVector(Data([1, 2, 3])) }
    }
}
