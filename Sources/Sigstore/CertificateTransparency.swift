import Crypto
import Foundation
import SwiftASN1
import X509

/// Embedded signed certificate timestamps (RFC 6962 §3.3) of a Fulcio certificate, checked against the CT logs of
/// the trusted root.
enum CertificateTransparency {
    /// X.509v3 extension holding the TLS-encoded SCT list.
    static let sctListOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2]

    /// Requires at least one SCT that a CT log of the root, valid at the SCT's time, signed over this precertificate.
    /// - Parameter issuerKeyHash: SHA-256 of the issuing CA's SubjectPublicKeyInfo (prepared with the root), nil when
    ///   it could not be encoded.
    /// - Throws: ``SigstoreError`` `sct_invalid` (`unsupported_key` without an issuer key hash).
    static func verify(leaf: Certificate, issuerKeyHash: Data?, logs: [TrustedRoot.Log]) throws {
        guard let ext = leaf.extensions[oid: sctListOID],
            let octets = try? ASN1OctetString(derEncoded: ext.value)
        else { throw SigstoreError(.sctInvalid, "the signing certificate has no embedded SCTs") }
        let scts = try parseList(Data(octets.bytes))
        let tbs = try precertificateTBS(leaf)
        guard let issuerKeyHash else { throw SigstoreError(.unsupportedKey, "the certificate's public key cannot be encoded") }
        for sct in scts {
            guard let log = logs.first(where: { $0.logID == sct.logID }),
                log.validity.contains(Date(timeIntervalSince1970: Double(sct.timestamp) / 1000))
            else { continue }
            var signed = Data([0, 0])  // v1, certificate_timestamp
            signed.appendBigEndian(sct.timestamp, bytes: 8)
            signed.appendBigEndian(1, bytes: 2)  // precert_entry
            signed.append(issuerKeyHash)
            signed.appendBigEndian(UInt64(tbs.count), bytes: 3)
            signed.append(tbs)
            signed.appendBigEndian(UInt64(sct.extensions.count), bytes: 2)
            signed.append(sct.extensions)
            if log.key.isValidSignature(sct.signature, for: signed) { return }
        }
        throw SigstoreError(.sctInvalid, "no embedded SCT verifies against a CT log of the trusted root")
    }

    struct SCT {
        let logID: Data
        let timestamp: UInt64
        let extensions: Data
        let signature: Data
    }

    static func parseList(_ data: Data) throws -> [SCT] {
        var list = ByteReader(data)
        var entries = ByteReader(try list.vector(lengthBytes: 2))
        var out: [SCT] = []
        while !entries.isAtEnd {
            var r = ByteReader(try entries.vector(lengthBytes: 2))
            guard try r.uint(1) == 0 else { continue }  // only v1 SCTs are defined
            let logID = try r.bytes(32)
            let timestamp = try r.uint(8)
            let extensions = try r.vector(lengthBytes: 2)
            _ = try r.uint(2)  // hash and signature algorithm: the log's key decides
            out.append(SCT(logID: logID, timestamp: timestamp, extensions: extensions, signature: try r.vector(lengthBytes: 2)))
        }
        return out
    }

    /// The leaf's TBSCertificate without the SCT list extension: what the log signed (RFC 6962 §3.2).
    static func precertificateTBS(_ leaf: Certificate) throws -> Data {
        guard let tbs = try? DER.parse(Array(leaf.tbsCertificateBytes)), case .constructed(let fields) = tbs.content else {
            throw SigstoreError(.sctInvalid, "the certificate's TBS cannot be read")
        }
        var body = Data()
        for field in fields {
            guard field.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific),
                case .constructed(let wrapper) = field.content, let list = wrapper.first(where: { _ in true }),
                case .constructed(let extensions) = list.content
            else {
                body.append(contentsOf: field.encodedBytes)
                continue
            }
            var kept = Data()
            for ext in extensions {
                guard case .constructed(let parts) = ext.content, let first = parts.first(where: { _ in true }) else {
                    throw SigstoreError(.sctInvalid, "a certificate extension cannot be read")
                }
                if (try? ASN1ObjectIdentifier(derEncoded: first)) != sctListOID { kept.append(contentsOf: ext.encodedBytes) }
            }
            body.append(DERWriter.tlv(0xA3, DERWriter.tlv(0x30, kept)))
        }
        return DERWriter.tlv(0x30, body)
    }
}

/// Definite-length DER framing, for re-assembling parsed elements.
enum DERWriter {
    static func tlv(_ tag: UInt8, _ content: Data) -> Data {
        var out = Data([tag])
        let n = content.count
        if n < 0x80 {
            out.append(UInt8(n))
        } else {
            var len = Data()
            var v = n
            while v > 0 {
                len.insert(UInt8(v & 0xff), at: 0)
                v >>= 8
            }
            out.append(0x80 | UInt8(len.count))
            out.append(len)
        }
        out.append(content)
        return out
    }
}

/// A bounds-checked big-endian reader of TLS-style structures.
struct ByteReader {
    private let data: [UInt8]
    private var offset: Int

    init(_ data: Data) {
        self.data = Array(data)
        offset = 0
    }

    var isAtEnd: Bool { offset >= data.count }

    mutating func bytes(_ n: Int) throws -> Data {
        guard n >= 0, data.count - offset >= n else { throw SigstoreError(.sctInvalid, "truncated structure") }
        defer { offset += n }
        return Data(data[offset..<offset + n])
    }

    mutating func uint(_ n: Int) throws -> UInt64 { try bytes(n).reduce(0) { $0 << 8 | UInt64($1) } }

    mutating func vector(lengthBytes: Int) throws -> Data { try bytes(Int(try uint(lengthBytes))) }
}

extension Data {
    mutating func appendBigEndian(_ value: UInt64, bytes: Int) {
        for i in stride(from: bytes - 1, through: 0, by: -1) { append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
}
