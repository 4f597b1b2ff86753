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

    // Known answer from an independent implementation (Python `cryptography` 50.0.2 AESGCM): key 00 01 … 1f,
    // nonce 64 65 … 6f, AAD = the canonical AAD of `origin`, format byte 0x01 in front.
    static let knownKey = SymmetricKey(data: Data(0..<32))
    static let knownPlaintext = String(repeating: "Chunk seven of the handbook: the on-call rota rotates weekly. ", count: 2)
    static let knownSealed =
        "016465666768696a6b6c6d6e6f0b73ab0812c925fb480731c8b5034a892aa72662ea029710c8bec772dbd7cd2db4862eed2f73f768dd8"
        + "1174b9c62b8a06f3aec82536a364d9f9ac0afc1a1e6e27de2b02ea52e4d60e54f822531fe598344107e5ac3a7e2a9b4cb16b013766e3e"
        + "e05cf11f0721980cdc8ebfe5d062cc89564ef33fb61cdc5fde00bd91b3ed308a1c782f6f7803b2ace2059659"

    @Test("A known-answer ciphertext opens with both the one-shot and the reusable DEK cipher")
    func knownAnswer() throws {
        let sealed = try #require(Hex.decode(Self.knownSealed))
        #expect(try Envelope.open(sealed, key: Self.knownKey, context: Self.origin) == Data(Self.knownPlaintext.utf8))
        let cipher = try DEKCipher(dek: Self.knownKey)
        #expect(try cipher.open(sealed, context: Self.origin) == Data(Self.knownPlaintext.utf8))
        #expect(throws: SealgateError.self) { try cipher.open(sealed, context: Self.moved[3].1) }
    }

    @Test("The reusable DEK cipher and the one-shot envelope open each other's ciphertexts")
    func dekCipherInterop() throws {
        let key = Envelope.makeDEK()
        let cipher = try DEKCipher(dek: key)
        for size in [0, 1, 15, 16, 17, 800, 4096] {
            let plaintext = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let byCipher = try cipher.seal(plaintext, context: Self.origin)
            let byEnvelope = try Envelope.seal(plaintext, key: key, context: Self.origin)
            #expect(byCipher.count == plaintext.count + 29)
            #expect(try Envelope.open(byCipher, key: key, context: Self.origin) == plaintext)
            #expect(try cipher.open(byEnvelope, context: Self.origin) == plaintext)
            // A slice whose indices do not start at zero (as values cut from a larger buffer are).
            #expect(try cipher.open((Data([0xAA]) + byEnvelope).dropFirst(), context: Self.origin) == plaintext)
        }
        // Two seals of the same plaintext differ (fresh nonces).
        #expect(try cipher.seal(Data("x".utf8), context: Self.origin) != cipher.seal(Data("x".utf8), context: Self.origin))
    }

    @Test("The reusable DEK cipher refuses moved, altered, truncated and foreign-key ciphertexts", arguments: 0..<moved.count)
    func dekCipherBinding(_ i: Int) throws {
        let key = Envelope.makeDEK()
        let cipher = try DEKCipher(dek: key)
        var sealed = try cipher.seal(Data("secret".utf8), context: Self.origin)
        let moved = #expect(throws: SealgateError.self, "\(Self.moved[i].0)") { try cipher.open(sealed, context: Self.moved[i].1) }
        #expect(moved?.code == .integrityFailure)
        #expect(throws: SealgateError.self) { try DEKCipher(dek: Envelope.makeDEK()).open(sealed, context: Self.origin) }
        #expect(throws: SealgateError.self) { try cipher.open(sealed.prefix(28), context: Self.origin) }
        #expect(throws: SealgateError.self) { try cipher.open(sealed.prefix(sealed.count - 1), context: Self.origin) }
        sealed[sealed.startIndex + i % sealed.count] ^= 0x80
        #expect(throws: SealgateError.self) { try cipher.open(sealed, context: Self.origin) }
        #expect(throws: SealgateError.self) { try DEKCipher(dek: SymmetricKey(size: .bits128)) }
    }

    @Test("One DEK cipher serves concurrent opens")
    func dekCipherConcurrent() async throws {
        let key = Envelope.makeDEK()
        let cipher = try DEKCipher(dek: key)
        let sealed = try (0..<64).map { (i: Int) in try cipher.seal(Data("chunk \(i)".utf8), context: Self.origin.with(field: .text, chunkIndex: i)) }
        let opened = try await withThrowingTaskGroup(of: Bool.self) { group in
            for round in 0..<8 {
                group.addTask {
                    try (0..<64).allSatisfy { i in
                        let j = (i + round * 7) % 64
                        return try cipher.open(sealed[j], context: Self.origin.with(field: .text, chunkIndex: j)) == Data("chunk \(j)".utf8)
                    }
                }
            }
            return try await group.reduce(true) { $0 && $1 }
        }
        #expect(opened)
    }

    @Test("Embedding vectors round-trip through their byte encoding")
    func vectors() throws {
        let v: [Float] = [0, 1.5, -2.25, .leastNonzeroMagnitude]
        #expect(try Envelope.decodeVector(Envelope.encode(vector: v)) == v)
        #expect(throws: SealgateError.self) { try Envelope.decodeVector(Data([1, 2, 3])) }
    }

    @Test("openInPlace turns swift-crypto's AES-GCM ciphertext into its plaintext in the same bytes; a bad tag, nonce or AAD leaves no plaintext")
    func openInPlace() throws {
        let key = SymmetricKey(size: .bits256)
        let cipher = try DEKCipher(dek: key)
        for size in [0, 1, 15, 16, 17, 4096 + 3] {
            let plaintext = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) })
            let aad = Data("model/file/\(size)".utf8)
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: aad)
            let nonce = Array(box.nonce), tag = Array(box.tag)
            var bytes = [UInt8](box.ciphertext)
            #expect(bytes.withUnsafeMutableBytes { cipher.openInPlace($0, nonce: nonce, tag: tag, aad: aad) })
            #expect(Data(bytes) == plaintext)

            var flippedTag = tag
            flippedTag[0] ^= 1
            let wrongNonce = [UInt8](repeating: 0, count: 12)
            for (name, n, t, a) in [("tag", nonce, flippedTag, aad), ("nonce", wrongNonce, tag, aad), ("aad", nonce, tag, aad + Data([0]))] {
                var sealed = [UInt8](box.ciphertext)
                #expect(!sealed.withUnsafeMutableBytes { cipher.openInPlace($0, nonce: n, tag: t, aad: a) }, "\(name)")
                #expect(size == 0 || Data(sealed) != plaintext, "\(name): no plaintext left")
            }
        }
    }
}
