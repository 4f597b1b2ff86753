import Foundation
import Synchronization
import SwiftASN1
import X509

/// Who must have signed: a Subject Alternative Name and a Fulcio OIDC issuer, each exact or a regular expression,
/// as cosign's `--certificate-identity(-regexp)` and `--certificate-oidc-issuer(-regexp)`.
public struct IdentityPolicy: Sendable, CustomStringConvertible {
    /// How a value is matched.
    public enum Matcher: Sendable, CustomStringConvertible {
        /// Equal, byte for byte.
        case exact(String)
        /// The whole value matches the regular expression (Swift `Regex` syntax, anchored at both ends).
        case regex(String)


        public var description: String {
            switch self {
            case .exact(let s): s
            case .regex(let p): "/\(p)/"
            }
        }
    }

    public let identity: Matcher
    public let issuer: Matcher
    /// The matchers' regular expressions, compiled once with the policy.
    private let identityMatch: CompiledMatcher
    private let issuerMatch: CompiledMatcher

    /// A policy on the SAN and the issuer.
    /// - Throws: ``SigstoreError`` `identity_mismatch` when a regular expression does not compile.
    public init(identity: Matcher, issuer: Matcher) throws {
        self.identity = identity
        self.issuer = issuer
        identityMatch = try CompiledMatcher(identity)
        issuerMatch = try CompiledMatcher(issuer)
    }

    public var description: String { "identity \(identity), issuer \(issuer)" }

    /// Checks a signing certificate.
    /// - Throws: ``SigstoreError`` `identity_mismatch` naming what the certificate holds.
    func check(_ leaf: Certificate) throws {
        let sans = Self.identities(of: leaf)
        guard sans.contains(where: identityMatch.matches) else {
            throw SigstoreError(.identityMismatch, "certificate identity \(sans) does not match \(identity)\(Self.bytewise(sans, identity))")
        }
        guard let actual = Self.issuer(of: leaf), issuerMatch.matches(actual) else {
            let held = Self.issuer(of: leaf)
            throw SigstoreError(.identityMismatch, "certificate OIDC issuer \(held ?? "none") does not match \(issuer)\(Self.bytewise(held.map { [$0] } ?? [], issuer))")
        }
    }

    /// A note for a refusal whose values print alike: equal only under Unicode canonical equivalence.
    static func bytewise(_ held: [String], _ wanted: Matcher) -> String {
        guard case .exact(let exact) = wanted, held.contains(exact) else { return "" }
        return " (equal only under Unicode normalization; identities compare byte for byte)"
    }

    /// Fulcio's OIDC issuer extensions: v2 (1.3.6.1.4.1.57264.1.8, DER UTF8String), then v1 (…1.1, raw bytes).
    static let issuerV2: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 8]
    static let issuerV1: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 1]
    /// Fulcio's otherName SAN for usernames.
    static let otherNameSAN: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 7]

    /// The certificate's identities: e-mail, URI and Fulcio otherName SANs.
    public static func identities(of leaf: Certificate) -> [String] {
        guard let sans = try? leaf.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { name -> String? in
            switch name {
            case .rfc822Name(let s), .uniformResourceIdentifier(let s): return s
            case .otherName(let other) where other.typeID == otherNameSAN:
                guard let value = other.value, let text = try? ASN1UTF8String(asn1Any: value) else { return nil }
                return String(text)
            default: return nil
            }
        }
    }

    /// The certificate's OIDC issuer, or nil.
    public static func issuer(of leaf: Certificate) -> String? {
        if let ext = leaf.extensions[oid: issuerV2], let text = try? ASN1UTF8String(derEncoded: ext.value) {
            return String(text)
        }
        if let ext = leaf.extensions[oid: issuerV1] { return String(decoding: ext.value, as: UTF8.self) }
        return nil
    }
}

/// A ``IdentityPolicy/Matcher`` ready to match: the regular expression compiled once. `Regex` is not `Sendable`, so
/// the compiled expression is held behind a mutex (uncontended: a match takes it for the match only).
private final class CompiledMatcher: Sendable {
    private let exact: String?
    private let regex: Mutex<Regex<AnyRegexOutput>>?

    /// - Throws: ``SigstoreError`` `identity_mismatch` when the regular expression does not compile.
    init(_ matcher: IdentityPolicy.Matcher) throws {
        switch matcher {
        case .exact(let value):
            exact = value
            regex = nil
        case .regex(let pattern):
            guard let compiled = try? Regex(pattern) else {
                throw SigstoreError(.identityMismatch, "the regular expression '\(pattern)' does not compile")
            }
            exact = nil
            // Code point by code point, as Go's RE2 (cosign) matches, not by grapheme with canonical equivalence.
            regex = Mutex(compiled.matchingSemantics(.unicodeScalar))
        }
    }

    /// Byte for byte equal to the exact value (as cosign compares; Swift's `==` would take a Kelvin sign for a `K`
    /// or an NFD issuer for its NFC form), or the whole value matches the expression.
    func matches(_ value: String) -> Bool {
        if let exact { return value.utf8.elementsEqual(exact.utf8) }
        return regex?.withLock { (try? $0.wholeMatch(in: value)) != nil } ?? false
    }
}
