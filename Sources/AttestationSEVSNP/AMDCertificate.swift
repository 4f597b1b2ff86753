import Attestation
import Crypto
import Foundation
import SwiftASN1
import _CryptoExtras

/// An AMD KDS certificate (ARK, ASK/ASVK, VCEK/VLEK), parsed with SwiftASN1 because swift-certificates rejects
/// RSASSA-PSS signatures at parse time. Only what verification needs: the signed bytes, the signature, names,
/// validity, the public key and the AMD extensions.
public struct AMDCertificate: Sendable {
    public let der: Data
    /// The exact DER bytes of `tbsCertificate` (what the issuer signed).
    public let tbs: Data
    public let signature: Data
    public let signatureAlgorithmOID: String
    public let issuer: Data
    public let subject: Data
    public let notBefore: Date
    public let notAfter: Date
    /// The DER SubjectPublicKeyInfo.
    public let subjectPublicKeyInfo: Data
    /// Extension OID → raw extnValue contents.
    public let extensions: [String: Data]

    /// Parses DER.
    /// - Throws: ``SNPError`` when it is not an X.509 certificate.
    public init(der: Data) throws {
        do {
            let root = try DER.parse([UInt8](der))
            guard case .constructed(let top) = root.content else { throw SNPError("certificate is not a SEQUENCE") }
            var parts = top.makeIterator()
            guard let tbsNode = parts.next(), let algNode = parts.next(), let sigNode = parts.next() else {
                throw SNPError("certificate lacks its three parts")
            }
            self.der = der
            tbs = Data(tbsNode.encodedBytes)
            signatureAlgorithmOID = try Self.algorithmOID(algNode)
            let bits = try ASN1BitString(derEncoded: sigNode)
            signature = Data(bits.bytes)
            guard case .constructed(let tbsItems) = tbsNode.content else { throw SNPError("tbsCertificate is not a SEQUENCE") }
            var fields = Array(tbsItems)
            if let first = fields.first, first.identifier.tagClass == .contextSpecific, first.identifier.tagNumber == 0 {
                fields.removeFirst()
            }
            // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, [extensions]
            guard fields.count >= 6 else { throw SNPError("tbsCertificate is too short") }
            issuer = Data(fields[2].encodedBytes)
            guard case .constructed(let validity) = fields[3].content else { throw SNPError("validity is not a SEQUENCE") }
            let times = Array(validity)
            guard times.count == 2 else { throw SNPError("validity needs two times") }
            notBefore = try ASN1Time.date(times[0])
            notAfter = try ASN1Time.date(times[1])
            subject = Data(fields[4].encodedBytes)
            subjectPublicKeyInfo = Data(fields[5].encodedBytes)
            var extensions: [String: Data] = [:]
            if let explicit = fields.dropFirst(6).first(where: { $0.identifier.tagClass == .contextSpecific && $0.identifier.tagNumber == 3 }),
                case .constructed(let wrapper) = explicit.content, let sequence = Array(wrapper).first,
                case .constructed(let items) = sequence.content
            {
                for item in items {
                    guard case .constructed(let pieces) = item.content else { continue }
                    let list = Array(pieces)
                    guard let oidNode = list.first, let valueNode = list.last else { continue }
                    let oid = try ASN1ObjectIdentifier(derEncoded: oidNode)
                    let value = try ASN1OctetString(derEncoded: valueNode)
                    extensions[oid.description] = Data(value.bytes)
                }
            }
            self.extensions = extensions
        } catch let error as SNPError {
            throw error
        } catch {
            throw SNPError("certificate DER does not parse")
        }
    }

    /// Parses the first certificate of a PEM text, or every certificate when `all` is set.
    public static func pem(_ text: String) throws -> [AMDCertificate] {
        var out: [AMDCertificate] = []
        var body: String?
        for line in text.split(whereSeparator: \.isNewline).map(String.init) {
            if line.hasPrefix("-----BEGIN CERTIFICATE-----") {
                body = ""
            } else if line.hasPrefix("-----END CERTIFICATE-----") {
                guard let b = body, let der = Data(base64Encoded: b) else { throw SNPError("PEM body is not base64") }
                out.append(try AMDCertificate(der: der))
                body = nil
            } else if body != nil {
                body? += line.trimmingCharacters(in: .whitespaces)
            }
        }
        return out
    }

    static func algorithmOID(_ node: ASN1Node) throws -> String {
        guard case .constructed(let items) = node.content, let oid = Array(items).first else { throw SNPError("bad AlgorithmIdentifier") }
        return try ASN1ObjectIdentifier(derEncoded: oid).description
    }


    static let rsassaPSS = "1.2.840.113549.1.1.10"

    /// Whether `issuer` signed this certificate: RSASSA-PSS with SHA-384 (MGF1-SHA-384, salt 48) as AMD uses.
    public func isSigned(by issuer: AMDCertificate) -> Bool {
        guard signatureAlgorithmOID == Self.rsassaPSS, self.issuer == issuer.subject,
            let key = try? _RSA.Signing.PublicKey(derRepresentation: issuer.subjectPublicKeyInfo)
        else { return false }
        let sig = _RSA.Signing.RSASignature(rawRepresentation: signature)
        return key.isValidSignature(sig, for: SHA384.hash(data: tbs), padding: .PSS)
    }

    /// Whether the certificate is valid at `date`.
    public func isValid(at date: Date) -> Bool { notBefore <= date && date <= notAfter }

    /// The value of an AMD SPL extension (a DER INTEGER), if present.
    public func integerExtension(_ oid: String) -> UInt64? {
        guard let raw = extensions[oid], let node = try? DER.parse([UInt8](raw)), let value = try? Int(derEncoded: node) else {
            return nil
        }
        return UInt64(exactly: value)
    }
}
