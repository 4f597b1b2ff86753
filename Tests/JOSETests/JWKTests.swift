import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import JOSE

@Suite("JWK")
struct JWKTests {
    @Test("EC JWKs from swift-crypto keys are full length, validate and drop d in publicJWK")
    func ecFactories() throws {
        let p256 = P256.KeyAgreement.PrivateKey()
        let jwk = JWK.ec(p256)
        #expect(jwk.kty == "EC" && jwk.crv == "P-256")
        #expect(unb64u(try #require(jwk.x)).count == 32)
        #expect(unb64u(try #require(jwk.d)).count == 32)
        #expect(try jwk.validated() == jwk)
        #expect(jwk.publicJWK == JWK.ec(p256.publicKey))
        #expect(jwk.publicJWK.d == nil)
        #expect(try jwk.thumbprint() == jwk.publicJWK.thumbprint())

        let p521 = JWK.ec(P521.KeyAgreement.PrivateKey())
        #expect(unb64u(try #require(p521.y)).count == 66)
        #expect(try p521.validated() == p521)
        #expect(try JWK.ec(P384.KeyAgreement.PrivateKey()).validated().crv == "P-384")
    }

    @Test("RSA JWKs from swift-crypto keys: public has n, e; private has every CRT member and imports back")
    func rsaFactories() throws {
        let key = try _RSA.Encryption.PrivateKey(keySize: .bits2048)
        let jwk = try JWK.rsa(key)
        #expect(jwk.kty == "RSA" && jwk.e == "AQAB")
        #expect(unb64u(try #require(jwk.n)).count == 256)
        for member in [jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi] { #expect(member != nil) }
        #expect(try jwk.validated() == jwk)
        #expect(try JWK.rsa(key.publicKey) == jwk.publicJWK)
        #expect(try jwk.rsaPrivateKey().derRepresentation == key.derRepresentation)
        // n, e, d alone are refused: recovering p and q can take unbounded time on crafted input (a prime n made
        // the factoring loop spin forever; FuzzTests/Reproducers/jose).
        let minimal = JWK(kty: "RSA", d: jwk.d, n: jwk.n, e: jwk.e)
        #expect(throws: JOSEError.self) { try minimal.validated() }
        let jwe = try JWE.encrypt(Data("m".utf8), to: jwk.publicJWK)
        #expect(try JWE.decrypt(jwe, with: jwk) == Data("m".utf8))
    }

    @Test("JWK JSON omits absent members and ignores unknown ones")
    func codable() throws {
        let jwk = JWK(kty: "oct", k: "GZy6sIZ6wl9NJOKB-jnmVQ", kid: "a")
        let json = try #require(String(data: try JSONEncoder().encode(jwk), encoding: .utf8))
        #expect(!json.contains("null") && !json.contains("\"crv\""))
        let decoded = try JSONDecoder().decode(
            JWK.self, from: Data(#"{"kty":"oct","k":"AAAA","key_ops":["encrypt"]}"#.utf8))
        #expect(decoded == JWK(kty: "oct", k: "AAAA"))
        #expect(JWK.oct(SymmetricKey(data: Data(repeating: 1, count: 16))).k == b64u(Data(repeating: 1, count: 16)))
    }

    @Test("Off-curve EC point is refused")
    func offCurve() throws {
        var jwk = JWK.ec(P256.KeyAgreement.PrivateKey().publicKey)
        jwk.y = flipped(try #require(jwk.y), at: 31)
        expectJOSEError(.malformedJWK) { _ = try jwk.validated() }
        // And encryption to it never happens.
        expectJOSEError(.malformedJWK) { _ = try JWE.encrypt(Data("x".utf8), to: jwk) }
    }

    @Test("Coordinates of the wrong length are refused, even when the value would fit")
    func wrongLength() throws {
        let valid = JWK.ec(P256.KeyAgreement.PrivateKey())
        var short = valid
        short.x = b64u(unb64u(try #require(valid.x)).dropFirst())
        expectJOSEError(.malformedJWK) { _ = try short.validated() }
        var long = valid
        long.y = b64u(Data([0]) + unb64u(try #require(valid.y)))
        expectJOSEError(.malformedJWK) { _ = try long.validated() }
        var wrongCurve = valid
        wrongCurve.crv = "P-384"
        expectJOSEError(.malformedJWK) { _ = try wrongCurve.validated() }
        var shortScalar = valid
        shortScalar.d = b64u(unb64u(try #require(valid.d)).dropFirst())
        expectJOSEError(.malformedJWK) { _ = try shortScalar.validated() }
        var otherScalar = valid
        otherScalar.d = JWK.ec(P256.KeyAgreement.PrivateKey()).d
        expectJOSEError(.malformedJWK) { _ = try otherScalar.validated() }
    }

    @Test("RSA below 2048 bits, bad exponents and inconsistent CRT members are refused")
    func rsaRules() throws {
        let small = try _RSA.Encryption.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        let smallJWK = try JWK.rsa(small.publicKey)
        expectJOSEError(.malformedJWK) { _ = try smallJWK.validated() }
        expectJOSEError(.malformedJWK) { _ = try JWE.encrypt(Data("x".utf8), to: smallJWK) }

        let (example, _) = try Vectors.example("5.2")
        let good = example.key
        var evenExponent = good.publicJWK
        evenExponent.e = b64u(Data([1, 0, 0]))
        expectJOSEError(.malformedJWK) { _ = try evenExponent.validated() }
        var exponentOne = good.publicJWK
        exponentOne.e = "AQ"
        expectJOSEError(.malformedJWK) { _ = try exponentOne.validated() }
        var paddedModulus = good.publicJWK
        paddedModulus.n = b64u(Data([0]) + unb64u(try #require(good.n)))
        expectJOSEError(.malformedJWK) { _ = try paddedModulus.validated() }
        var partialCRT = good
        partialCRT.qi = nil
        expectJOSEError(.malformedJWK) { _ = try partialCRT.validated() }
        var wrongCRT = good
        wrongCRT.dp = good.dq
        expectJOSEError(.malformedJWK) { _ = try wrongCRT.validated() }
        var privateOnPublic = good.publicJWK
        privateOnPublic.p = good.p
        expectJOSEError(.malformedJWK) { _ = try privateOnPublic.validated() }
    }

    @Test("Missing members, unknown kty, mixed members and non-canonical base64url are refused")
    func missingMembers() throws {
        let ec = JWK.ec(P256.KeyAgreement.PrivateKey().publicKey)
        let cases: [JWK] = [
            JWK(kty: "EC", crv: "P-256", x: ec.x),
            JWK(kty: "EC", x: ec.x, y: ec.y),
            JWK(kty: "EC", crv: "secp256k1", x: ec.x, y: ec.y),
            JWK(kty: "RSA", n: "AQAB"),
            JWK(kty: "RSA", e: "AQAB"),
            JWK(kty: "oct"),
            JWK(kty: "oct", k: ""),
            JWK(kty: "oct", k: "AAA="),
            JWK(kty: "oct", k: "AA+A"),
            JWK(kty: "OKP", crv: "X25519", x: ec.x),
            JWK(kty: "oct", n: "AQAB", k: "AAAA"),
            JWK(kty: "EC", crv: "P-256", x: ec.x, y: ec.y, k: "AAAA"),
        ]
        for jwk in cases {
            expectJOSEError(.malformedJWK) { _ = try jwk.validated() }
        }
    }

    @Test("Error messages never contain key material")
    func messagesHaveNoKeyMaterial() throws {
        let valid = JWK.ec(P256.KeyAgreement.PrivateKey())
        var bad = valid
        bad.d = JWK.ec(P256.KeyAgreement.PrivateKey()).d
        do {
            _ = try bad.validated()
            Issue.record("expected an error")
        } catch let error as JOSEError {
            for secret in [bad.d, bad.x, bad.y].compactMap({ $0 }) {
                #expect(!error.description.contains(secret))
                #expect(!error.description.contains(String(secret.prefix(8))))
            }
        }
    }
}
