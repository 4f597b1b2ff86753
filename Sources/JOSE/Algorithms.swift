import Foundation

/// JWE key management algorithms (RFC 7518 §4) this module supports.
public enum KeyManagementAlgorithm: String, Sendable, Codable, CaseIterable {
    /// ECDH-ES key agreement, Concat KDF to a 128-bit KEK, AES-128 key wrap (RFC 7518 §4.6).
    case ecdhESA128KW = "ECDH-ES+A128KW"
    /// ECDH-ES key agreement, Concat KDF to a 256-bit KEK, AES-256 key wrap (RFC 7518 §4.6).
    case ecdhESA256KW = "ECDH-ES+A256KW"
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1 (RFC 7518 §4.3). Kept for interoperability.
    case rsaOAEP = "RSA-OAEP"
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 7518 §4.3).
    case rsaOAEP256 = "RSA-OAEP-256"
    /// AES-128 key wrap (RFC 3394) with a shared 128-bit key (RFC 7518 §4.4).
    case a128KW = "A128KW"
    /// AES-256 key wrap (RFC 3394) with a shared 256-bit key (RFC 7518 §4.4).
    case a256KW = "A256KW"
    /// The shared symmetric key is the content encryption key (RFC 7518 §4.5).
    case direct = "dir"

    /// The `kty` a key for this algorithm has.
    public var keyType: String {
        switch self {
        case .ecdhESA128KW, .ecdhESA256KW: "EC"
        case .rsaOAEP, .rsaOAEP256: "RSA"
        case .a128KW, .a256KW, .direct: "oct"
        }
    }

    /// Octets of the AES key-wrap key, for the key-wrap modes.
    var wrapKeyByteCount: Int? {
        switch self {
        case .ecdhESA128KW, .a128KW: 16
        case .ecdhESA256KW, .a256KW: 32
        case .rsaOAEP, .rsaOAEP256, .direct: nil
        }
    }
}

/// JWE content encryption algorithms (RFC 7518 §5.3) this module supports: AES-GCM with a 96-bit IV and a
/// 128-bit tag.
public enum ContentEncryption: String, Sendable, Codable, CaseIterable {
    /// AES-GCM with a 128-bit key.
    case a128GCM = "A128GCM"
    /// AES-GCM with a 256-bit key.
    case a256GCM = "A256GCM"

    /// Octets in the content encryption key.
    public var keyByteCount: Int {
        switch self {
        case .a128GCM: 16
        case .a256GCM: 32
        }
    }
}

/// Size bounds applied before any cryptographic work.
public enum JWELimits {
    /// Largest plaintext or ciphertext, in octets (16 MiB).
    public static let maximumContentBytes = 16 * 1024 * 1024
    /// Largest decoded protected header, in octets.
    public static let maximumHeaderBytes = 16 * 1024
    /// Largest decoded `aad`, in octets.
    public static let maximumAADBytes = 1024 * 1024
    /// Largest decoded `encrypted_key`, in octets (a 16384-bit RSA modulus).
    public static let maximumEncryptedKeyBytes = 2048
    /// Largest serialized JWE (compact text or JSON), in octets.
    public static let maximumSerializationBytes = 24 * 1024 * 1024
    /// AES-GCM IV length in octets.
    static let ivBytes = 12
    /// AES-GCM tag length in octets.
    static let tagBytes = 16
}
