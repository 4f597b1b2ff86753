import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import JOSE

@Suite("JWE")
struct JWETests {
    static let message = Data("confidential retrieval context ✓".utf8)

    /// A JWE header as base64url JSON, for hand-built negative cases.
    static func header(_ json: String) -> String { b64u(Data(json.utf8)) }

    @Test("ECDH-ES+A256KW (P-256) + A256GCM round trip with defaults; header is sorted JSON with epk")
    func ecdhRoundTrip() throws {
        let recipient = P256.KeyAgreement.PrivateKey()
        var publicJWK = JWK.ec(recipient.publicKey)
        publicJWK.kid = "gateway-1"
        let jwe = try JWE.encrypt(Self.message, to: publicJWK, extraHeader: ["cty": "text/plain"])
        #expect(try JWE.decrypt(jwe, with: JWK.ec(recipient)) == Self.message)
        let header = try JWE.protectedHeader(of: jwe)
        #expect(header["alg"] == "ECDH-ES+A256KW" && header["enc"] == "A256GCM")
        #expect(header["kid"] == "gateway-1" && header["cty"] == "text/plain")
        let json = String(decoding: unb64u(jwe.protected), as: UTF8.self)
        #expect(
            json.hasPrefix(
                #"{"alg":"ECDH-ES+A256KW","cty":"text/plain","enc":"A256GCM","epk":{"crv":"P-256","kty":"EC","x":"#))
        #expect(unb64u(try #require(jwe.encryptedKey)).count == 40)
        #expect(unb64u(jwe.iv).count == 12 && unb64u(jwe.tag).count == 16)
        // Compact form round-trips.
        let compact = try FlattenedJWE(compact: try jwe.compact)
        #expect(compact == jwe)
        // Two encryptions differ (fresh CEK, IV and ephemeral key).
        #expect(try JWE.encrypt(Self.message, to: publicJWK) != JWE.encrypt(Self.message, to: publicJWK))
    }

    @Test("ECDH-ES on P-384 and P-521, A128KW variant, with apu/apv")
    func ecdhCurves() throws {
        let p384 = P384.KeyAgreement.PrivateKey()
        let jwe384 = try JWE.encrypt(
            Self.message, to: JWK.ec(p384.publicKey), algorithm: .ecdhESA128KW, encryption: .a128GCM,
            extraHeader: ["apu": b64u(Data("gateway".utf8)), "apv": b64u(Data("broker".utf8))])
        #expect(try JWE.decrypt(jwe384, with: JWK.ec(p384)) == Self.message)
        let p521 = P521.KeyAgreement.PrivateKey()
        let jwe521 = try JWE.encrypt(Self.message, to: JWK.ec(p521.publicKey))
        #expect(try JWE.decrypt(jwe521, with: JWK.ec(p521)) == Self.message)
    }

    @Test("RSA-OAEP-256 + A256GCM round trip (default for RSA), and RSA-OAEP")
    func rsaRoundTrip() throws {
        let key = try _RSA.Encryption.PrivateKey(keySize: .bits2048)
        let privateJWK = try JWK.rsa(key)
        let jwe = try JWE.encrypt(Self.message, to: privateJWK.publicJWK)
        #expect(try JWE.protectedHeader(of: jwe)["alg"] == "RSA-OAEP-256")
        #expect(unb64u(try #require(jwe.encryptedKey)).count == 256)
        #expect(try JWE.decrypt(jwe, with: privateJWK) == Self.message)
        let sha1 = try JWE.encrypt(Self.message, to: privateJWK.publicJWK, algorithm: .rsaOAEP, encryption: .a128GCM)
        #expect(try JWE.decrypt(sha1, with: privateJWK) == Self.message)
        // OAEP-SHA-1 ciphertext relabelled as OAEP-256 fails, as a tag failure.
        var relabelled = sha1
        relabelled.protected = Self.header(#"{"alg":"RSA-OAEP-256","enc":"A128GCM"}"#)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(relabelled, with: privateJWK) }
    }

    @Test("A256KW and dir round trips; empty plaintext")
    func symmetricRoundTrips() throws {
        let key = JWK.oct(SymmetricKey(size: .bits256))
        let wrapped = try JWE.encrypt(Data(), to: key)
        #expect(try JWE.protectedHeader(of: wrapped)["alg"] == "A256KW")
        #expect(wrapped.ciphertext.isEmpty)
        #expect(try JWE.decrypt(wrapped, with: key).isEmpty)
        #expect(try JWE.decrypt(FlattenedJWE(compact: wrapped.compact), with: key).isEmpty)
        let direct = try JWE.encrypt(Self.message, to: key, algorithm: .direct)
        #expect(direct.encryptedKey == nil)
        #expect(try direct.compact.contains(".."))
        #expect(try JWE.decrypt(direct, with: key) == Self.message)
    }

    @Test("Wrong key fails with decryption_failed for every algorithm")
    func wrongKey() throws {
        let ec = try JWE.encrypt(Self.message, to: JWK.ec(P256.KeyAgreement.PrivateKey().publicKey))
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(ec, with: JWK.ec(P256.KeyAgreement.PrivateKey())) }
        let rsaKey = try JWK.rsa(_RSA.Encryption.PrivateKey(keySize: .bits2048))
        let rsa = try JWE.encrypt(Self.message, to: rsaKey.publicJWK, algorithm: .rsaOAEP)
        let other = try JWK.rsa(_RSA.Encryption.PrivateKey(keySize: .bits2048))
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(rsa, with: other) }
        #expect(try JWE.decrypt(rsa, with: rsaKey) == Self.message)
        let oct = JWK.oct(SymmetricKey(size: .bits256))
        let kw = try JWE.encrypt(Self.message, to: oct)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(kw, with: JWK.oct(SymmetricKey(size: .bits256))) }
        let dir = try JWE.encrypt(Self.message, to: oct, algorithm: .direct)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(dir, with: JWK.oct(SymmetricKey(size: .bits256))) }
    }

    @Test("A flipped bit in ciphertext, tag, iv, encrypted_key or protected header fails")
    func tampering() throws {
        let recipient = P256.KeyAgreement.PrivateKey()
        let jwe = try JWE.encrypt(Self.message, to: JWK.ec(recipient.publicKey))
        let key = JWK.ec(recipient)
        var copy = jwe
        copy.ciphertext = flipped(jwe.ciphertext, at: 3)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(copy, with: key) }
        copy = jwe
        copy.tag = flipped(jwe.tag, at: 15)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(copy, with: key) }
        copy = jwe
        copy.iv = flipped(jwe.iv)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(copy, with: key) }
        copy = jwe
        copy.encryptedKey = flipped(try #require(jwe.encryptedKey), at: 10)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(copy, with: key) }
        // A header change that still parses (kid added) breaks the AAD binding.
        var header = String(decoding: unb64u(jwe.protected), as: UTF8.self)
        header.removeLast()
        copy = jwe
        copy.protected = b64u(Data((header + #","kid":"x"}"#).utf8))
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(copy, with: key) }
        // Flipping a byte of the header text almost always breaks the JSON: malformed or failed, never success.
        copy = jwe
        copy.protected = flipped(jwe.protected, at: 2)
        #expect(throws: JOSEError.self) { try JWE.decrypt(copy, with: key) }
        // RSA: a flipped encrypted_key surfaces as a tag failure, indistinguishable from a wrong key.
        let (example, _) = try Vectors.example("5.2")
        var rsa = example.flattened
        rsa.encryptedKey = flipped(try #require(rsa.encryptedKey), at: 100)
        expectJOSEError(.decryptionFailed) { _ = try JWE.decrypt(rsa, with: example.key) }
    }

    @Test("alg none, unknown alg or enc, zip, crit → unsupported_algorithm")
    func unsupported() throws {
        let key = JWK.oct(SymmetricKey(size: .bits256))
        let good = try JWE.encrypt(Self.message, to: key)
        for header in [
            #"{"alg":"none","enc":"A256GCM"}"#, #"{"alg":"RSA1_5","enc":"A256GCM"}"#,
            #"{"alg":"A256KW","enc":"A128CBC-HS256"}"#, #"{"alg":"A256KW","enc":"A256GCM","zip":"DEF"}"#,
            #"{"alg":"A256KW","enc":"A256GCM","crit":["exp"],"exp":1}"#,
        ] {
            var jwe = good
            jwe.protected = Self.header(header)
            expectJOSEError(.unsupportedAlgorithm) { _ = try JWE.decrypt(jwe, with: key) }
        }
        // Key/algorithm mismatches.
        let ecKey = JWK.ec(P256.KeyAgreement.PrivateKey())
        expectJOSEError(.unsupportedAlgorithm) { _ = try JWE.decrypt(good, with: ecKey) }
        expectJOSEError(.unsupportedAlgorithm) { _ = try JWE.encrypt(Self.message, to: ecKey, algorithm: .rsaOAEP256) }
        expectJOSEError(.unsupportedAlgorithm) { _ = try JWE.encrypt(Self.message, to: key, algorithm: .a128KW) }
        var signing = key
        signing.use = "sig"
        expectJOSEError(.unsupportedAlgorithm) { _ = try JWE.decrypt(good, with: signing) }
        var restricted = key
        restricted.alg = "dir"
        expectJOSEError(.unsupportedAlgorithm) { _ = try JWE.decrypt(good, with: restricted) }
    }

    @Test("Missing or malformed members → malformed_jwe")
    func malformed() throws {
        let key = JWK.oct(SymmetricKey(size: .bits256))
        let good = try JWE.encrypt(Self.message, to: key)
        var cases: [FlattenedJWE] = []
        for header in [
            #"{"enc":"A256GCM"}"#, #"{"alg":"A256KW"}"#, #"{"alg":5,"enc":"A256GCM"}"#, "[1]", "{",
            #"{"alg":"A256KW","alg":"A256KW","enc":"A256GCM"}"#,
            #"{"alg":"A256KW","\u0061lg":"A256KW","enc":"A256GCM"}"#, #"{"alg":"A256KW","enc":"A256GCM","crit":[]}"#,
        ] {
            var jwe = good
            jwe.protected = Self.header(header)
            cases.append(jwe)
        }
        var jwe = good
        jwe.iv = ""
        cases.append(jwe)
        jwe = good
        jwe.iv = b64u(Data(repeating: 0, count: 16))
        cases.append(jwe)
        jwe = good
        jwe.tag = String(good.tag.dropLast(2))
        cases.append(jwe)
        jwe = good
        jwe.ciphertext = good.ciphertext + "="
        cases.append(jwe)
        jwe = good
        jwe.protected = "e30*"
        cases.append(jwe)
        jwe = good
        jwe.encryptedKey = b64u(unb64u(try #require(good.encryptedKey)).dropLast(8))
        cases.append(jwe)
        jwe = good
        jwe.encryptedKey = nil
        cases.append(jwe)
        for jwe in cases {
            expectJOSEError(.malformedJWE) { _ = try JWE.decrypt(jwe, with: key) }
        }
        // Missing iv in JSON, general serialization, bad compact forms.
        expectJOSEError(.malformedJWE) {
            _ = try FlattenedJWE(json: Data(#"{"protected":"e30","ciphertext":"","tag":"AAAA"}"#.utf8))
        }
        expectJOSEError(.malformedJWE) {
            _ = try FlattenedJWE(json: Data(#"{"recipients":[],"iv":"","ciphertext":"","tag":""}"#.utf8))
        }
        for compact in ["a.b.c.d", "a.b.c.d.e.f", ".x.AAAA.AAAA.AAAA", "e30..AAAA.AAAA.", "e30.a+b.AAAA.AAAA.AAAA"] {
            expectJOSEError(.malformedJWE) { _ = try FlattenedJWE(compact: compact) }
        }
    }

    @Test("ECDH-ES epk problems: missing, off curve, wrong curve, carrying d → malformed_jwe")
    func badEphemeralKey() throws {
        let recipient = P256.KeyAgreement.PrivateKey()
        let key = JWK.ec(recipient)
        let good = try JWE.encrypt(Self.message, to: key.publicJWK)
        var other = JWK.ec(P256.KeyAgreement.PrivateKey().publicKey)
        other.y = flipped(try #require(other.y), at: 31)
        let p384 = JWK.ec(P384.KeyAgreement.PrivateKey())
        let epks = [
            nil, #"{"kty":"EC","crv":"P-256","x":"\#(other.x ?? "")","y":"\#(other.y ?? "")"}"#,
            #"{"kty":"EC","crv":"P-384","x":"\#(p384.x ?? "")","y":"\#(p384.y ?? "")"}"#,
            #"{"kty":"EC","crv":"P-384","x":"\#(p384.x ?? "")","y":"\#(p384.y ?? "")","d":"\#(p384.d ?? "")"}"#,
            #""not an object""#,
        ]
        for epk in epks {
            var jwe = good
            jwe.protected = Self.header(
                #"{"alg":"ECDH-ES+A256KW","enc":"A256GCM""# + (epk.map { #","epk":"# + $0 } ?? "") + "}")
            expectJOSEError(.malformedJWE) { _ = try JWE.decrypt(jwe, with: key) }
        }
        // A public key cannot decrypt.
        expectJOSEError(.unsupportedAlgorithm) { _ = try JWE.decrypt(good, with: key.publicJWK) }
    }

    @Test("extraHeader cannot override algorithm parameters; oversized plaintext is refused")
    func encryptBounds() throws {
        let key = JWK.oct(SymmetricKey(size: .bits256))
        for name in ["alg", "enc", "epk", "zip", "crit"] {
            expectJOSEError(.encryptionFailed) { _ = try JWE.encrypt(Self.message, to: key, extraHeader: [name: "x"]) }
        }
        expectJOSEError(.encryptionFailed) {
            _ = try JWE.encrypt(Self.message, to: key, extraHeader: ["apu": "not base64url!"])
        }
        let big = Data(count: JWELimits.maximumContentBytes + 1)
        expectJOSEError(.encryptionFailed) { _ = try JWE.encrypt(big, to: key) }
        var huge = try JWE.encrypt(Data(), to: key)
        huge.ciphertext = String(repeating: "A", count: (JWELimits.maximumContentBytes * 4 + 2) / 3 + 4)
        expectJOSEError(.malformedJWE) { _ = try JWE.decrypt(huge, with: key) }
    }
}
