import Foundation

/// The one error type of the JOSE module.
///
/// Messages name the member or the rule that failed; they never contain key bytes, plaintext, a content
/// encryption key or an unbounded echo of attacker-supplied header values.
public struct JOSEError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: Hashable, Sendable {
        /// The code as snake_case text, stable across releases.
        public let rawValue: String

        /// Creates a code from its text.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A JWK is not well formed: unknown `kty`, missing or mis-sized members, a point off its curve, an RSA
        /// modulus that is too small or inconsistent private members.
        public static let malformedJWK = Code(rawValue: "malformed_jwk")
        /// The `alg`, `enc`, `zip` or a `crit` extension is not supported, or the key cannot be used with the `alg`.
        public static let unsupportedAlgorithm = Code(rawValue: "unsupported_algorithm")
        /// A JWE is not well formed: bad base64url, bad header JSON, wrong lengths, missing members, too large.
        public static let malformedJWE = Code(rawValue: "malformed_jwe")
        /// The content encryption key could not be recovered or the authentication tag did not verify.
        public static let decryptionFailed = Code(rawValue: "decryption_failed")
        /// Encryption could not be completed (the underlying primitive failed, or the inputs are out of bounds).
        public static let encryptionFailed = Code(rawValue: "encryption_failed")
    }

    /// What went wrong, as a code.
    public let code: Code
    /// What went wrong, for people. Contains no secret material.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    static func malformedJWK(_ message: String) -> JOSEError { JOSEError(.malformedJWK, message) }
    static func unsupported(_ message: String) -> JOSEError { JOSEError(.unsupportedAlgorithm, message) }
    static func malformedJWE(_ message: String) -> JOSEError { JOSEError(.malformedJWE, message) }
    static func decryptionFailed(_ message: String) -> JOSEError { JOSEError(.decryptionFailed, message) }
    static func encryptionFailed(_ message: String) -> JOSEError { JOSEError(.encryptionFailed, message) }

    /// Quotes an untrusted value for a message: printable ASCII only, at most 40 characters.
    static func quote(_ value: String) -> String {
        let printable = value.unicodeScalars.allSatisfy {
            $0.value >= 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "\\"
        }
        guard printable else { return "(unprintable value)" }
        return value.count <= 40 ? "\"\(value)\"" : "\"\(value.prefix(40))…\""
    }
}
