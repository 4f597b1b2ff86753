import Crypto
import Foundation
import SealgateCore
import _CryptoExtras

/// The NIST curves JOSE names, each backed by swift-crypto's key-agreement keys.
enum ECCurve: String, Sendable {
    case p256 = "P-256"
    case p384 = "P-384"
    case p521 = "P-521"

    /// Octets in one coordinate and in the private scalar (RFC 7518 §6.2.1.2, §6.2.2.1).
    var coordinateSize: Int {
        switch self {
        case .p256: 32
        case .p384: 48
        case .p521: 66
        }
    }

    /// Throws unless `raw` (x ‖ y) is a point on the curve; swift-crypto performs the check.
    func checkPublic(_ raw: Data) throws {
        switch self {
        case .p256: _ = try P256.KeyAgreement.PublicKey(rawRepresentation: raw)
        case .p384: _ = try P384.KeyAgreement.PublicKey(rawRepresentation: raw)
        case .p521: _ = try P521.KeyAgreement.PublicKey(rawRepresentation: raw)
        }
    }

    /// The public point (x ‖ y) of a private scalar.
    func publicRaw(ofScalar scalar: Data) throws -> Data {
        switch self {
        case .p256: try P256.KeyAgreement.PrivateKey(rawRepresentation: scalar).publicKey.rawRepresentation
        case .p384: try P384.KeyAgreement.PrivateKey(rawRepresentation: scalar).publicKey.rawRepresentation
        case .p521: try P521.KeyAgreement.PrivateKey(rawRepresentation: scalar).publicKey.rawRepresentation
        }
    }

    /// A fresh key pair as (scalar, x ‖ y).
    func generate() -> (scalar: Data, publicRaw: Data) {
        switch self {
        case .p256:
            let key = P256.KeyAgreement.PrivateKey()
            return (key.rawRepresentation, key.publicKey.rawRepresentation)
        case .p384:
            let key = P384.KeyAgreement.PrivateKey()
            return (key.rawRepresentation, key.publicKey.rawRepresentation)
        case .p521:
            let key = P521.KeyAgreement.PrivateKey()
            return (key.rawRepresentation, key.publicKey.rawRepresentation)
        }
    }

    /// The ECDH shared secret Z (the x coordinate of the shared point) from swift-crypto.
    func sharedSecret(scalar: Data, peer: Data) throws -> Data {
        let secret: SharedSecret
        switch self {
        case .p256:
            secret = try P256.KeyAgreement.PrivateKey(rawRepresentation: scalar)
                .sharedSecretFromKeyAgreement(with: P256.KeyAgreement.PublicKey(rawRepresentation: peer))
        case .p384:
            secret = try P384.KeyAgreement.PrivateKey(rawRepresentation: scalar)
                .sharedSecretFromKeyAgreement(with: P384.KeyAgreement.PublicKey(rawRepresentation: peer))
        case .p521:
            secret = try P521.KeyAgreement.PrivateKey(rawRepresentation: scalar)
                .sharedSecretFromKeyAgreement(with: P521.KeyAgreement.PublicKey(rawRepresentation: peer))
        }
        return secret.withUnsafeBytes { Data($0) }
    }
}

/// RSA modulus bounds enforced by ``JWK/validated()``.
enum RSALimits {
    static let minimumBits = 2048
    static let maximumBits = 16384
}

extension JWK {
    /// Checks the key is well formed and returns it unchanged.
    ///
    /// - `EC`: `crv` is P-256, P-384 or P-521; `x` and `y` are full-length coordinates of a point on the curve;
    ///   `d`, when present, is a full-length scalar whose public point is (`x`, `y`).
    /// - `RSA`: `n` has no leading zero octet, is odd and is 2048–16384 bits; `e` is odd, ≥ 3 and at most 32 bits;
    ///   a private key has `d`, and `p`, `q`, `dp`, `dq`, `qi` either all or none, consistent with `n`, `e`, `d`.
    /// - `oct`: `k` is present and non-empty.
    ///
    /// Every member present must be canonical base64url, and members of another key type must be absent.
    /// Throws ``JOSEError/Code/malformedJWK``; the message never contains key material.
    public func validated() throws -> JWK {
        switch kty {
        case "EC": try validateEC()
        case "RSA": try validateRSA()
        case "oct": try validateOct()
        default: throw JOSEError.malformedJWK("unsupported kty \(JOSEError.quote(kty))")
        }
        return self
    }

    /// Decodes a required base64url member.
    func bytes(_ name: String, _ value: String?) throws -> Data {
        guard let value else { throw JOSEError.malformedJWK("\(kty) key has no \(name)") }
        guard let data = Base64URL.decode(value) else {
            throw JOSEError.malformedJWK("\(kty) key member \(name) is not canonical base64url")
        }
        return data
    }

    private func requireAbsent(_ members: [(String, String?)]) throws {
        for (name, value) in members where value != nil {
            throw JOSEError.malformedJWK("\(kty) key must not have member \(name)")
        }
    }

    // MARK: EC

    /// The curve of an EC key.
    func ecCurve() throws -> ECCurve {
        guard kty == "EC" else { throw JOSEError.malformedJWK("not an EC key") }
        guard let crv else { throw JOSEError.malformedJWK("EC key has no crv") }
        guard let curve = ECCurve(rawValue: crv) else {
            throw JOSEError.malformedJWK("unsupported EC curve \(JOSEError.quote(crv))")
        }
        return curve
    }

    /// x ‖ y of an EC key, each checked for length (not for being on the curve).
    func ecPublicRaw(_ curve: ECCurve) throws -> Data {
        let xBytes = try bytes("x", x)
        let yBytes = try bytes("y", y)
        guard xBytes.count == curve.coordinateSize, yBytes.count == curve.coordinateSize else {
            throw JOSEError.malformedJWK("\(curve.rawValue) coordinates must be \(curve.coordinateSize) octets each")
        }
        return xBytes + yBytes
    }

    /// The private scalar of an EC key, checked for length.
    func ecScalar(_ curve: ECCurve) throws -> Data {
        let scalar = try bytes("d", d)
        guard scalar.count == curve.coordinateSize else {
            throw JOSEError.malformedJWK("\(curve.rawValue) private scalar must be \(curve.coordinateSize) octets")
        }
        return scalar
    }

    private func validateEC() throws {
        try requireAbsent([("n", n), ("e", e), ("p", p), ("q", q), ("dp", dp), ("dq", dq), ("qi", qi), ("k", k)])
        let curve = try ecCurve()
        let raw = try ecPublicRaw(curve)
        do { try curve.checkPublic(raw) } catch {
            throw JOSEError.malformedJWK("EC point is not on curve \(curve.rawValue)")
        }
        guard d != nil else { return }
        let scalar = try ecScalar(curve)
        let derived: Data
        do { derived = try curve.publicRaw(ofScalar: scalar) } catch {
            throw JOSEError.malformedJWK("EC private scalar is out of range for \(curve.rawValue)")
        }
        guard derived == raw else { throw JOSEError.malformedJWK("EC private scalar does not match x and y") }
    }

    // MARK: RSA

    /// n and e, checked as ``validated()`` describes.
    func rsaPublicNumbers() throws -> (n: Data, e: Data) {
        let modulus = try bytes("n", n)
        let exponent = try bytes("e", e)
        guard let first = modulus.first, first != 0, let last = modulus.last, last & 1 == 1 else {
            throw JOSEError.malformedJWK("RSA modulus must be odd and have no leading zero octet")
        }
        let bits = modulus.count * 8 - first.leadingZeroBitCount
        guard bits >= RSALimits.minimumBits else {
            throw JOSEError.malformedJWK("RSA modulus is \(bits) bits; at least \(RSALimits.minimumBits) are required")
        }
        guard bits <= RSALimits.maximumBits else {
            throw JOSEError.malformedJWK("RSA modulus is \(bits) bits; at most \(RSALimits.maximumBits) are supported")
        }
        guard let eFirst = exponent.first, eFirst != 0, exponent.count <= 4, let eLast = exponent.last, eLast & 1 == 1,
            exponent.count > 1 || eFirst >= 3
        else { throw JOSEError.malformedJWK("RSA public exponent must be odd, at least 3 and at most 32 bits") }
        return (modulus, exponent)
    }

    /// The swift-crypto public key of an RSA JWK.
    func rsaPublicKey() throws -> _RSA.Encryption.PublicKey {
        let numbers = try rsaPublicNumbers()
        do { return try _RSA.Encryption.PublicKey(n: numbers.n, e: numbers.e) } catch {
            throw JOSEError.malformedJWK("RSA public key was rejected by swift-crypto")
        }
    }

    /// The swift-crypto private key of an RSA JWK; CRT members, when given, must match the computed ones.
    func rsaPrivateKey() throws -> _RSA.Encryption.PrivateKey {
        let numbers = try rsaPublicNumbers()
        let exponent = try bytes("d", d)
        let crt: [(String, String?)] = [("p", p), ("q", q), ("dp", dp), ("dq", dq), ("qi", qi)]
        let present = crt.filter { $0.1 != nil }.count
        // A key given only as n, e, d would have to be factored, which can take unbounded time on crafted input
        // (a prime n): require the CRT members.
        guard present == crt.count else {
            throw JOSEError.malformedJWK("RSA private key must have all of p, q, dp, dq, qi")
        }
        let key: _RSA.Encryption.PrivateKey
        do {
            key = try _RSA.Encryption.PrivateKey(n: numbers.n, e: numbers.e, d: exponent, p: try bytes("p", p), q: try bytes("q", q))
        } catch let error as JOSEError {
            throw error
        } catch {
            throw JOSEError.malformedJWK("RSA private key members are inconsistent")
        }
        let derived = try DER.rsaPrivateKey(key.derRepresentation)
        guard derived.n == numbers.n, derived.e == DER.minimal(numbers.e) else {
            throw JOSEError.malformedJWK("RSA private key members are inconsistent")
        }
        do {
            let given = try [("dp", dp), ("dq", dq), ("qi", qi)].map { DER.minimal(try bytes($0.0, $0.1)) }
            guard given == [derived.dp, derived.dq, derived.qi] else {
                throw JOSEError.malformedJWK("RSA CRT members dp, dq, qi do not match p, q, d")
            }
        }
        return key
    }

    private func validateRSA() throws {
        try requireAbsent([("crv", crv), ("x", x), ("y", y), ("k", k)])
        if d == nil {
            try requireAbsent([("p", p), ("q", q), ("dp", dp), ("dq", dq), ("qi", qi)])
            _ = try rsaPublicKey()
        } else {
            _ = try rsaPrivateKey()
        }
    }

    // MARK: oct

    /// The bytes of an `oct` key.
    func octBytes() throws -> Data {
        guard kty == "oct" else { throw JOSEError.malformedJWK("not an oct key") }
        let key = try bytes("k", k)
        guard !key.isEmpty else { throw JOSEError.malformedJWK("oct key k is empty") }
        return key
    }

    private func validateOct() throws {
        try requireAbsent([
            ("crv", crv), ("x", x), ("y", y), ("d", d), ("n", n), ("e", e), ("p", p), ("q", q), ("dp", dp),
            ("dq", dq), ("qi", qi),
        ])
        _ = try octBytes()
    }
}
