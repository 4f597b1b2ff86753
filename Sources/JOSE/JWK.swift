import Crypto
import Foundation
import SealgateCore
import _CryptoExtras

/// A JSON Web Key (RFC 7517) with the members RFC 7518 §6 defines for `EC`, `RSA` and `oct` keys.
///
/// Members other than these are ignored when decoding and are not written when encoding. Members that are
/// `nil` are omitted from the JSON.
public struct JWK: Codable, Sendable, Equatable {
    /// Key type: `EC`, `RSA` or `oct`.
    public var kty: String
    /// EC curve: `P-256`, `P-384` or `P-521`.
    public var crv: String?
    /// EC x coordinate, base64url, full length for the curve.
    public var x: String?
    /// EC y coordinate, base64url, full length for the curve.
    public var y: String?
    /// EC private scalar or RSA private exponent, base64url.
    public var d: String?
    /// RSA modulus, base64url unsigned big-endian.
    public var n: String?
    /// RSA public exponent, base64url unsigned big-endian.
    public var e: String?
    /// RSA first prime factor.
    public var p: String?
    /// RSA second prime factor.
    public var q: String?
    /// RSA first factor CRT exponent.
    public var dp: String?
    /// RSA second factor CRT exponent.
    public var dq: String?
    /// RSA first CRT coefficient.
    public var qi: String?
    /// Symmetric key bytes, base64url.
    public var k: String?
    /// The algorithm the key is meant for, if restricted.
    public var alg: String?
    /// Key identifier.
    public var kid: String?
    /// Public key use (`enc` or `sig`).
    public var use: String?

    /// Creates a JWK from its members.
    public init(
        kty: String, crv: String? = nil, x: String? = nil, y: String? = nil, d: String? = nil, n: String? = nil,
        e: String? = nil, p: String? = nil, q: String? = nil, dp: String? = nil, dq: String? = nil, qi: String? = nil,
        k: String? = nil, alg: String? = nil, kid: String? = nil, use: String? = nil
    ) {
        self.kty = kty
        self.crv = crv
        self.x = x
        self.y = y
        self.d = d
        self.n = n
        self.e = e
        self.p = p
        self.q = q
        self.dp = dp
        self.dq = dq
        self.qi = qi
        self.k = k
        self.alg = alg
        self.kid = kid
        self.use = use
    }

    // MARK: EC

    /// The public JWK of a P-256 key-agreement key.
    public static func ec(_ key: P256.KeyAgreement.PublicKey) -> JWK {
        ecPublic(curve: .p256, raw: key.rawRepresentation)
    }

    /// The private JWK (with `d`) of a P-256 key-agreement key.
    public static func ec(_ key: P256.KeyAgreement.PrivateKey) -> JWK {
        ecPrivate(curve: .p256, publicRaw: key.publicKey.rawRepresentation, scalar: key.rawRepresentation)
    }

    /// The public JWK of a P-384 key-agreement key.
    public static func ec(_ key: P384.KeyAgreement.PublicKey) -> JWK {
        ecPublic(curve: .p384, raw: key.rawRepresentation)
    }

    /// The private JWK (with `d`) of a P-384 key-agreement key.
    public static func ec(_ key: P384.KeyAgreement.PrivateKey) -> JWK {
        ecPrivate(curve: .p384, publicRaw: key.publicKey.rawRepresentation, scalar: key.rawRepresentation)
    }

    /// The public JWK of a P-521 key-agreement key.
    public static func ec(_ key: P521.KeyAgreement.PublicKey) -> JWK {
        ecPublic(curve: .p521, raw: key.rawRepresentation)
    }

    /// The private JWK (with `d`) of a P-521 key-agreement key.
    public static func ec(_ key: P521.KeyAgreement.PrivateKey) -> JWK {
        ecPrivate(curve: .p521, publicRaw: key.publicKey.rawRepresentation, scalar: key.rawRepresentation)
    }

    static func ecPublic(curve: ECCurve, raw: Data) -> JWK {
        let half = raw.count / 2
        return JWK(
            kty: "EC", crv: curve.rawValue, x: Base64URL.encode(raw.prefix(half)),
            y: Base64URL.encode(raw.suffix(from: raw.startIndex + half)))
    }

    static func ecPrivate(curve: ECCurve, publicRaw: Data, scalar: Data) -> JWK {
        var jwk = ecPublic(curve: curve, raw: publicRaw)
        jwk.d = Base64URL.encode(scalar)
        return jwk
    }

    // MARK: RSA

    /// The public JWK (`n`, `e`) of an RSA encryption key.
    public static func rsa(_ key: _RSA.Encryption.PublicKey) throws -> JWK {
        let primitives = try key.getKeyPrimitives()
        return JWK(
            kty: "RSA", n: Base64URL.encode(DER.minimal(primitives.modulus)),
            e: Base64URL.encode(DER.minimal(primitives.publicExponent)))
    }

    /// The private JWK (`n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`) of an RSA encryption key.
    ///
    /// swift-crypto exposes no accessor for the private numbers, so they are read from the key's PKCS #1
    /// `RSAPrivateKey` DER. Multi-prime keys are refused with ``JOSEError/Code/malformedJWK``.
    public static func rsa(_ key: _RSA.Encryption.PrivateKey) throws -> JWK {
        let numbers = try DER.rsaPrivateKey(key.derRepresentation)
        func encode(_ value: Data) -> String { Base64URL.encode(value) }
        return JWK(
            kty: "RSA", d: encode(numbers.d), n: encode(numbers.n), e: encode(numbers.e), p: encode(numbers.p),
            q: encode(numbers.q), dp: encode(numbers.dp), dq: encode(numbers.dq), qi: encode(numbers.qi))
    }

    // MARK: oct

    /// A symmetric JWK holding `key`.
    public static func oct(_ key: SymmetricKey) -> JWK {
        JWK(kty: "oct", k: Base64URL.encode(key.withUnsafeBytes { Data($0) }))
    }

    // MARK: Derived forms

    /// The same key with every private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) removed.
    ///
    /// For an `oct` key nothing public remains but `kty` and the metadata.
    public var publicJWK: JWK {
        var copy = self
        copy.d = nil
        copy.p = nil
        copy.q = nil
        copy.dp = nil
        copy.dq = nil
        copy.qi = nil
        copy.k = nil
        return copy
    }

    /// Whether the JWK carries private material.
    public var isPrivate: Bool {
        d != nil || k != nil
    }

    /// The RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order, base64url.
    ///
    /// The key is ``validated()`` first; metadata (`kid`, `alg`, `use`) and private members do not contribute.
    public func thumbprint() throws -> String {
        let key = try validated()
        let members: [(String, String)]
        switch key.kty {
        case "EC": members = [("crv", key.crv ?? ""), ("kty", "EC"), ("x", key.x ?? ""), ("y", key.y ?? "")]
        case "RSA": members = [("e", key.e ?? ""), ("kty", "RSA"), ("n", key.n ?? "")]
        default: members = [("k", key.k ?? ""), ("kty", "oct")]
        }
        let body = members.map { "\(Self.jsonString($0.0)):\(Self.jsonString($0.1))" }.joined(separator: ",")
        return Base64URL.encode(Data(SHA256.hash(data: Data("{\(body)}".utf8))))
    }

    /// A JSON string literal; member values here are base64url or curve names, escaped anyway.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
