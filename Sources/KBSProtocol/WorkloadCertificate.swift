import Foundation
import JOSE
import SealgateCore

/// The kind of workload a certificate names: `gateway`, `proxy`, or `model:<id>`.
///
/// Grammar: a kind of lowercase letters, optionally followed by `:` and an id of `[A-Za-z0-9._-]` (at most 48
/// characters). In release-policy resource paths (`<scope>/cert/<tag>`) the `:` is written `.`; the kind has no dots,
/// so the first `.` of a tag always separates kind and id.
public struct WorkloadClass: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `gateway`, `proxy`, `model`, ….
    public let kind: String
    /// The model id for `model:<id>`; `nil` for kinds without one.
    public let id: String?

    /// Parses `kind` or `kind:id`; `nil` when either part breaks the grammar.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let kind = parts.first, (1...16).contains(kind.count), kind.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) }) else {
            return nil
        }
        if parts.count == 2 {
            let id = parts[1]
            let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
            guard (1...48).contains(id.count), id.unicodeScalars.allSatisfy(allowed.contains), id != ".", !id.contains("..") else { return nil }
            self.kind = kind
            self.id = id
        } else {
            self.kind = kind
            self.id = nil
        }
    }

    /// The gateway's class.
    public static let gateway = WorkloadClass(kind: "gateway", id: nil)

    private init(kind: String, id: String?) {
        self.kind = kind
        self.id = id
    }

    public var description: String { id.map { "\(kind):\($0)" } ?? kind }

    /// The tag of this class in a resource path: `gateway`, `model.llama-3`.
    public var resourceTag: String { id.map { "\(kind).\($0)" } ?? kind }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = WorkloadClass(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a workload class"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The body of `POST /kbs/v0/workload-certificate`: which workload class, for which public key. The key must be
/// the one the attested evidence bound (``RuntimeData/workloadPublicKey``); names come from the broker's
/// enrolment of the class, never from the request.
public struct WorkloadCertificateRequest: Codable, Sendable, Equatable {
    public var workload: WorkloadClass
    /// The public key (JWK, EC P-256 or P-384) to certify.
    public var publicKey: JWK

    enum CodingKeys: String, CodingKey {
        case workload
        case publicKey = "public-key"
    }

    public init(workload: WorkloadClass, publicKey: JWK) {
        self.workload = workload
        self.publicKey = publicKey
    }
}

/// An issued workload certificate: the chain (leaf first, then the issuing CA) as PEM, and its validity.
public struct WorkloadCertificate: Codable, Sendable, Equatable {
    /// PEM certificates, leaf first.
    public var chain: [String]
    /// The leaf's `notAfter`, seconds since 1970.
    public var notAfter: Int
    /// The leaf's serial number (hex), for audit records.
    public var serial: String
    /// Every CA certificate (PEM) the broker's workload certificates chain to now: the active CA and any retiring
    /// one. What a workload trusts for its peers (attested upstream models) and what clients are given.
    public var trust: [String]

    enum CodingKeys: String, CodingKey {
        case chain, serial, trust
        case notAfter = "not-after"
    }

    public init(chain: [String], notAfter: Int, serial: String, trust: [String]) {
        self.chain = chain
        self.notAfter = notAfter
        self.serial = serial
        self.trust = trust
    }

    /// When the leaf expires.
    public var expiry: Date { Date(timeIntervalSince1970: TimeInterval(notAfter)) }

    /// The chain a TLS endpoint sends: the leaf and any intermediate, without the trust anchors of ``trust``.
    /// A peer must hold the anchor already (it is what it verifies against), so sending it only adds bytes and, for
    /// clients that check every signature they are given, a verification (RFC 8446 §4.4.2 lets a sender omit it).
    public var servedChain: [String] {
        let anchors = Set(trust.map(Self.canonical))
        return chain.enumerated().filter { $0.offset == 0 || !anchors.contains(Self.canonical($0.element)) }.map(\.element)
    }

    /// A PEM document without its line breaks and surrounding white space, for comparison.
    private static func canonical(_ pem: String) -> String { pem.filter { !$0.isWhitespace } }
}

/// The outcome of a workload-certificate request.
public enum CertificateOutcome: Sendable {
    case issued(WorkloadCertificate, ReleaseDecision)
    case denied(ReleaseDecision)
}
