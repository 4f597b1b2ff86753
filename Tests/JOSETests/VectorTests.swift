import Crypto
import Foundation
import Testing

@testable import JOSE

/// Published known answers: RFC 7520 §5, RFC 7518 Appendix C, RFC 7638 §3.1.
@Suite("Published vectors")
struct VectorTests {
    @Test("RFC 7520 §5.2 RSA-OAEP + A256GCM decrypts (flattened and compact)")
    func rsaOAEP() throws {
        let (example, plaintext) = try Vectors.example("5.2")
        #expect(try JWE.decrypt(example.flattened, with: example.key) == plaintext)
        let compact = try FlattenedJWE(compact: try #require(example.compact))
        #expect(compact == example.flattened)
        #expect(try JWE.decrypt(compact, with: example.key) == plaintext)
        #expect(
            try JWE.protectedHeader(of: compact) == [
                "alg": "RSA-OAEP", "kid": "samwise.gamgee@hobbiton.example", "enc": "A256GCM",
            ])
    }

    @Test("RFC 7520 §5.2 private JWK round-trips through swift-crypto and keeps n, e, d, p, q, dp, dq, qi")
    func rsaPrivateKeyImport() throws {
        let (example, _) = try Vectors.example("5.2")
        let key = try example.key.rsaPrivateKey()
        let exported = try JWK.rsa(key)
        for (name, path) in [
            ("n", \JWK.n), ("e", \.e), ("d", \.d), ("p", \.p), ("q", \.q), ("dp", \.dp), ("dq", \.dq), ("qi", \.qi),
        ] {
            #expect(exported[keyPath: path] == example.key[keyPath: path], "member \(name)")
        }
    }

    @Test("RFC 7520 §5.4 ECDH-ES+A128KW (P-384) + A128GCM: decrypts, and re-encrypts byte for byte")
    func ecdhES() throws {
        let (example, plaintext) = try Vectors.example("5.4")
        #expect(try JWE.decrypt(example.flattened, with: example.key) == plaintext)
        #expect(
            try JWE.decrypt(try FlattenedJWE(compact: try #require(example.compact)), with: example.key) == plaintext)

        let fixed = JWE.FixedInputs(
            cek: unb64u(try #require(example.cek)), iv: unb64u(example.iv), ephemeralKey: example.ephemeralKey,
            protected: example.protected)
        let produced = try JWE.encrypt(
            plaintext, to: example.key.publicJWK, algorithm: .ecdhESA128KW, encryption: .a128GCM, fixed: fixed)
        #expect(produced == example.flattened)
        #expect(try produced.compact == example.compact)
    }

    @Test("RFC 7520 §5.4 with a header this module builds (sorted keys) still decrypts with the RFC key")
    func ecdhESOwnHeader() throws {
        let (example, plaintext) = try Vectors.example("5.4")
        let fixed = JWE.FixedInputs(
            cek: unb64u(try #require(example.cek)), iv: unb64u(example.iv), ephemeralKey: example.ephemeralKey)
        let produced = try JWE.encrypt(
            plaintext, to: example.key.publicJWK, algorithm: .ecdhESA128KW, encryption: .a128GCM, fixed: fixed)
        // Key wrap depends only on Z and the KDF, so the encrypted key matches the RFC; the header (AAD) differs.
        #expect(produced.encryptedKey == example.encryptedKey)
        #expect(produced.ciphertext == example.ciphertext)
        #expect(produced.tag != example.tag)
        #expect(try JWE.decrypt(produced, with: example.key) == plaintext)
        let header = try JWE.protectedHeader(of: produced)
        #expect(header["epk"]?.contains("\"crv\":\"P-384\"") == true)
        #expect(header["kid"] == "peregrin.took@tuckborough.example")
    }

    @Test("RFC 7520 §5.6 dir + A128GCM in both directions")
    func direct() throws {
        let (example, plaintext) = try Vectors.example("5.6")
        #expect(try JWE.decrypt(example.flattened, with: example.key) == plaintext)
        let fixed = JWE.FixedInputs(cek: Data(), iv: unb64u(example.iv), protected: example.protected)
        let produced = try JWE.encrypt(
            plaintext, to: example.key, algorithm: .direct, encryption: .a128GCM, fixed: fixed)
        #expect(produced == example.flattened)
        #expect(try produced.compact == example.compact)
    }

    @Test("RFC 7520 §5.8 A128KW + A128GCM in both directions")
    func keyWrap() throws {
        let (example, plaintext) = try Vectors.example("5.8")
        #expect(try JWE.decrypt(example.flattened, with: example.key) == plaintext)
        #expect(
            try JWE.decrypt(try FlattenedJWE(compact: try #require(example.compact)), with: example.key) == plaintext)
        let fixed = JWE.FixedInputs(
            cek: unb64u(try #require(example.cek)), iv: unb64u(example.iv), protected: example.protected)
        let produced = try JWE.encrypt(
            plaintext, to: example.key, algorithm: .a128KW, encryption: .a128GCM, fixed: fixed)
        #expect(produced == example.flattened)
        #expect(try produced.compact == example.compact)
    }

    @Test("RFC 7520 §5.10 additional authenticated data in both directions; aad is authenticated")
    func additionalAAD() throws {
        let (example, plaintext) = try Vectors.example("5.10")
        #expect(try JWE.decrypt(example.flattened, with: example.key) == plaintext)
        let fixed = JWE.FixedInputs(
            cek: unb64u(try #require(example.cek)), iv: unb64u(example.iv), protected: example.protected,
            aad: unb64u(try #require(example.aad)))
        let produced = try JWE.encrypt(
            plaintext, to: example.key, algorithm: .a128KW, encryption: .a128GCM, fixed: fixed)
        #expect(produced == example.flattened)
        expectJOSEError(.malformedJWE) { _ = try produced.compact }
        var tampered = example.flattened
        tampered.aad = flipped(try #require(example.aad), at: 5)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(tampered, with: example.key) }
        tampered.aad = nil
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(tampered, with: example.key) }
    }

    @Test("RFC 7520 §5.11 alg and kid in the shared unprotected header, in both directions")
    func unprotectedHeader() throws {
        let (example, plaintext) = try Vectors.example("5.11")
        let (opened, header) = try JWE.decryptWithHeader(example.flattened, with: example.key)
        #expect(opened == plaintext)
        #expect(header == ["alg": "A128KW", "kid": "81b20965-8332-43d9-a468-82160ad91ac8", "enc": "A128GCM"])
        #expect(try JWE.protectedHeader(of: example.flattened) == ["enc": "A128GCM"])
        let fixed = JWE.FixedInputs(
            cek: unb64u(try #require(example.cek)), iv: unb64u(example.iv), protected: example.protected,
            unprotected: example.unprotected)
        let produced = try JWE.encrypt(
            plaintext, to: example.key, algorithm: .a128KW, encryption: .a128GCM, fixed: fixed)
        #expect(produced == example.flattened)
        // The same parameter in two headers is refused.
        var duplicated = example.flattened
        duplicated.header = ["alg": "A128KW"]
        expectJOSEError(.malformedJWE) { _ = try JWE.decrypt(duplicated, with: example.key) }
    }

    @Test("RFC 7520 JSON round-trips through FlattenedJWE's Codable")
    func jsonForm() throws {
        let (example, plaintext) = try Vectors.example("5.11")
        let decoded = try FlattenedJWE(json: try example.flattened.jsonData())
        #expect(decoded == example.flattened)
        #expect(try JWE.decrypt(decoded, with: example.key) == plaintext)
        let json = try #require(String(data: try example.flattened.jsonData(), encoding: .utf8))
        #expect(json.contains("\"encrypted_key\""))
        #expect(json.contains("\"unprotected\""))
    }

    @Test("python jwcrypto JWE with epk in the per-recipient header decrypts and survives JSON re-encoding")
    func jwcryptoInterop() throws {
        struct File: Decodable {
            let key: JWK
            let plaintext: String
            let jwe: FlattenedJWE
        }
        let file = try JSONDecoder().decode(File.self, from: Vectors.data("jwcrypto_interop.json"))
        #expect(try JWE.decrypt(file.jwe, with: file.key) == Data(file.plaintext.utf8))
        let epkText = try #require(file.jwe.header?["epk"])
        #expect(epkText.hasPrefix(#"{"crv":"P-256","kty":"EC","x":"#))
        let reencoded = try FlattenedJWE(json: try file.jwe.jsonData())
        #expect(reencoded == file.jwe)
        #expect(try JWE.decrypt(reencoded, with: file.key) == Data(file.plaintext.utf8))
        // Editing the member's text turns it into a plain string, which is not an epk.
        var edited = file.jwe
        edited.header?["epk"] = epkText + " "
        expectJOSEError(.malformedJWE) { _ = try JWE.decrypt(edited, with: file.key) }
    }

    @Test("RFC 7518 Appendix C: Concat KDF derives VqqN6vgjbSBcIijNcacQGg from the ECDH output")
    func concatKDF() throws {
        let vector = try Vectors.kdfAndThumbprint().appendixC
        let alice = try P256.KeyAgreement.PrivateKey(rawRepresentation: unb64u(try #require(vector.aliceEphemeral.d)))
        #expect(JWK.ec(alice.publicKey) == vector.aliceEphemeral.publicJWK)
        let bob = try P256.KeyAgreement.PublicKey(
            rawRepresentation: unb64u(try #require(vector.bob.x)) + unb64u(try #require(vector.bob.y)))
        let z = try alice.sharedSecretFromKeyAgreement(with: bob).withUnsafeBytes { Data($0) }
        #expect(b64u(z) == vector.z)
        let derived = ConcatKDF.derive(
            sharedSecret: z, keyDataLengthBits: vector.keydatalen, algorithmID: vector.algorithmID,
            partyUInfo: unb64u(vector.apu), partyVInfo: unb64u(vector.apv))
        #expect(b64u(derived) == vector.derivedKey)
        // Bob derives the same Z from his side.
        let bobPrivate = try P256.KeyAgreement.PrivateKey(rawRepresentation: unb64u(try #require(vector.bob.d)))
        let aliceDerived = try ECCurve.p256.sharedSecret(
            scalar: bobPrivate.rawRepresentation, peer: alice.publicKey.rawRepresentation)
        #expect(aliceDerived == z)
    }

    @Test("Concat KDF output longer than one SHA-256 block uses counter 2")
    func concatKDFMultiRound() throws {
        let z = Data(repeating: 7, count: 32)
        let long = ConcatKDF.derive(sharedSecret: z, keyDataLengthBits: 384, algorithmID: "X")
        #expect(long.count == 48)
        var otherInfo = Data([0, 0, 0, 1]) + Data("X".utf8) + Data(repeating: 0, count: 8)
        otherInfo += Data([0, 0, 0x01, 0x80])
        let first = Data(SHA256.hash(data: Data([0, 0, 0, 1]) + z + otherInfo))
        let second = Data(SHA256.hash(data: Data([0, 0, 0, 2]) + z + otherInfo))
        #expect(long == (first + second).prefix(48))
    }

    @Test("RFC 7638 §3.1 thumbprint")
    func thumbprint() throws {
        let vector = try Vectors.kdfAndThumbprint().thumbprint
        #expect(try vector.key.thumbprint() == vector.thumbprint)
        // Metadata and member order do not matter.
        var bare = vector.key
        bare.kid = nil
        bare.alg = nil
        #expect(try bare.thumbprint() == vector.thumbprint)
    }
}
