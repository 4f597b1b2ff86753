import Crypto
import Foundation
import ReleasePolicy
import SealgateCore
import SwiftASN1
import X509

/// Which names a workload class may carry in its certificates, under which release-policy scope, for how long.
/// Set by an admin (`sealgate keys enrol-workload`); a certificate request never chooses its names.
public struct WorkloadEnrolment: Codable, Sendable, Equatable {
    public var workload: WorkloadClass
    /// DNS names and IP addresses (v4 or v6) the certificate names, in this order.
    public var names: [String]
    /// The first segment of the release-policy resource `<scope>/cert/<class>`.
    public var scope: String
    /// The longest validity of one certificate, in seconds (never longer than the attestation token).
    public var maxValiditySeconds: Int

    enum CodingKeys: String, CodingKey {
        case workload, names, scope
        case maxValiditySeconds = "max_validity_seconds"
    }

    /// The scope when an enrolment names none.
    public static let defaultScope = "sealgate"
    /// The longest validity any enrolment may ask for (one day): it bounds how long a retired CA stays trusted.
    public static let validityCap = 86_400

    public init(workload: WorkloadClass, names: [String], scope: String = defaultScope, maxValiditySeconds: Int = 3600) {
        self.workload = workload
        self.names = names
        self.scope = scope
        self.maxValiditySeconds = maxValiditySeconds
    }

    /// The subject alternative names, or why the enrolment is unusable.
    public func alternativeNames() throws -> [GeneralName] {
        guard !names.isEmpty, names.count <= 32 else { throw KeyBrokerError(.malformedRequest, "an enrolment names 1 to 32 DNS names or IP addresses") }
        guard (60...Self.validityCap).contains(maxValiditySeconds) else {
            throw KeyBrokerError(.malformedRequest, "max_validity_seconds must be between 60 and \(Self.validityCap)")
        }
        guard ResourceRef.isValidSegment(scope) else { throw KeyBrokerError(.malformedRequest, "scope must be a resource path segment") }
        return try names.map { name in
            if let address = IPAddress.bytes(name) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))) }
            guard Self.isDNSName(name) else { throw KeyBrokerError(.malformedRequest, "\(name) is neither an IP address nor a DNS name") }
            return .dnsName(name.lowercased())
        }
    }


    /// A host name of LDH labels (no wildcards), at most 253 characters.
    static func isDNSName(_ text: String) -> Bool {
        guard (1...253).contains(text.count) else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }
        }
    }
}

/// The lifecycle of one CA version.
public enum CAState: String, Codable, Sendable {
    /// Signs new workload certificates.
    case active
    /// Signs nothing; still trusted until the certificates it signed have expired (`retires_at`).
    case retiring
    /// No longer trusted.
    case retired
}

/// One version of the broker's workload CA as stored: the ECDSA P-384 key sealed under the master key.
struct StoredCA: Codable, Sendable {
    var version: Int
    /// base64 of the sealed PKCS#8-free raw key (`P384.Signing.PrivateKey.rawRepresentation`).
    var sealedKey: String
    var certificatePEM: String
    var createdAt: Double
    var state: CAState
    var retiresAt: Double?

    enum CodingKeys: String, CodingKey {
        case version, state
        case sealedKey = "sealed_key"
        case certificatePEM = "certificate"
        case createdAt = "created_at"
        case retiresAt = "retires_at"
    }
}

/// A CA version opened for use.
struct WorkloadCA: Sendable {
    let stored: StoredCA
    let key: P384.Signing.PrivateKey
    let certificate: Certificate

    static func aad(version: Int) -> Data { Data("sealgate-workload-ca-v1|\(version)".utf8) }

    /// A new self-signed CA (valid ten years), sealed by `protector`.
    static func create(version: Int, issuerID: String, now: Date, protector: any KeyProtector) throws -> WorkloadCA {
        let key = P384.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Sealgate key broker \(issuerID)")
            CommonName("Sealgate workload CA v\(version)")
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA384,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        let sealed = try protector.seal(key.rawRepresentation, aad: aad(version: version))
        let stored = StoredCA(
            version: version, sealedKey: sealed.base64EncodedString(), certificatePEM: try certificate.serializeAsPEM().pemString,
            createdAt: now.timeIntervalSince1970, state: .active, retiresAt: nil)
        return WorkloadCA(stored: stored, key: key, certificate: certificate)
    }

    /// Opens a stored version with the master key.
    static func open(_ stored: StoredCA, protector: any KeyProtector) throws -> WorkloadCA {
        guard let sealed = Data(base64Encoded: stored.sealedKey) else { throw KeyBrokerError(.storageUnavailable, "CA v\(stored.version) is malformed") }
        let raw = try protector.open(sealed, aad: aad(version: stored.version))
        let key = try P384.Signing.PrivateKey(rawRepresentation: raw)
        let certificate = try Certificate(pemEncoded: stored.certificatePEM)
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw KeyBrokerError(.storageUnavailable, "CA v\(stored.version): the certificate does not match the key")
        }
        return WorkloadCA(stored: stored, key: key, certificate: certificate)
    }

    /// Signs a workload certificate for `publicKey`.
    func issue(
        publicKey: Certificate.PublicKey, names: [GeneralName], workload: WorkloadClass, notBefore: Date, notAfter: Date,
        extension value: WorkloadExtension
    ) throws -> Certificate {
        let subject = try DistinguishedName {
            OrganizationName("Sealgate workload")
            CommonName(workload.description)
        }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey, notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA384,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
                try value.certificateExtension()
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }
}
