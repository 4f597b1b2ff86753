import Attestation
import Crypto
import Foundation
import SealgateCore
import SwiftASN1
import X509

/// An X.509 CRL as Intel PCS serves them (PCK CRL, Root CA CRL), parsed with SwiftASN1: issuer, update window,
/// revoked serial numbers, and the ECDSA P-256 signature over `tbsCertList`.
public struct IntelCRL: Sendable {
    public let tbs: Data
    public let signature: Data
    /// The DER of the issuer Name.
    public let issuer: Data
    public let thisUpdate: Date
    public let nextUpdate: Date?
    /// Revoked serial numbers, big-endian without leading zero bytes.
    public let revokedSerials: Set<Data>

    /// Parses DER.
    /// - Throws: ``AttestationError`` `malformed_evidence` when it is not a CRL.
    public init(der: Data) throws {
        do {
            let root = try DER.parse([UInt8](der))
            guard case .constructed(let top) = root.content else { throw AttestationError(.malformedEvidence, "CRL") }
            let parts = Array(top)
            guard parts.count == 3 else { throw AttestationError(.malformedEvidence, "CRL needs three parts") }
            tbs = Data(parts[0].encodedBytes)
            signature = Data(try ASN1BitString(derEncoded: parts[2]).bytes)
            guard case .constructed(let tbsItems) = parts[0].content else { throw AttestationError(.malformedEvidence, "tbsCertList") }
            var fields = Array(tbsItems)
            if fields.first?.identifier == .integer { fields.removeFirst() }  // version
            guard fields.count >= 3 else { throw AttestationError(.malformedEvidence, "tbsCertList too short") }
            issuer = Data(fields[1].encodedBytes)
            thisUpdate = try ASN1Time.date(fields[2])
            var rest = fields.dropFirst(3)
            if let next = rest.first, next.identifier == .utcTime || next.identifier == .generalizedTime {
                nextUpdate = try ASN1Time.date(next)
                rest = rest.dropFirst()
            } else {
                nextUpdate = nil
            }
            var serials = Set<Data>()
            if let list = rest.first, list.identifier == .sequence, case .constructed(let entries) = list.content {
                for entry in entries {
                    guard case .constructed(let items) = entry.content, let serialNode = Array(items).first,
                        case .primitive(let bytes) = serialNode.content
                    else { continue }
                    serials.insert(Data(bytes.drop { $0 == 0 }))
                }
            }
            revokedSerials = serials
        } catch let error as AttestationError {
            throw error
        } catch {
            throw AttestationError(.malformedEvidence, "CRL DER does not parse")
        }
    }

    /// A CRL from parts (tests of the revocation decision).
    init(revoking serials: Set<Data>, from crl: IntelCRL) {
        tbs = crl.tbs
        signature = crl.signature
        issuer = crl.issuer
        thisUpdate = crl.thisUpdate
        nextUpdate = crl.nextUpdate
        revokedSerials = serials
    }


    /// Checks that `issuerCertificate` signed this CRL and that it is current at `date`.
    /// - Throws: ``AttestationError`` `chain_invalid` (wrong issuer or signature) or `evidence_expired` (not current).
    public func verify(issuedBy issuerCertificate: Certificate, at date: Date) throws {
        var serializer = DER.Serializer()
        try serializer.serialize(issuerCertificate.subject)
        guard Data(serializer.serializedBytes) == issuer else {
            throw AttestationError(.chainInvalid, "the CRL is not issued by \(issuerCertificate.subject)")
        }
        guard let key = P256.Signing.PublicKey(issuerCertificate.publicKey),
            let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature), key.isValidSignature(ecdsa, for: tbs)
        else { throw AttestationError(.chainInvalid, "the CRL signature does not verify") }
        guard thisUpdate <= date, nextUpdate.map({ date <= $0 }) ?? true else {
            throw AttestationError(.evidenceExpired, "the CRL is not current at the verification time")
        }
    }

    /// Whether `certificate`'s serial number is listed.
    public func revokes(_ certificate: Certificate) -> Bool {
        revokedSerials.contains(Data(Array(certificate.serialNumber.bytes).drop { $0 == 0 }))
    }
}

extension TDXAttestationVerifier {
    /// Checks the quote's PCK chain against the PCK CRL (issued by the PCK Platform/Processor CA) and the Root CA
    /// CRL: each CRL given is verified and current at `date` and lists no certificate of the chain. A `nil` CRL is
    /// not checked.
    /// - Throws: ``AttestationError`` with `certificate_revoked`, `chain_invalid` or `evidence_expired`.
    public func checkRevocation(quote: TDXQuote, pckCRL: Data?, rootCRL: Data?, at date: Date) throws {
        let chain = try quote.pckCertificates()
        guard chain.count == 3, pinnedRoot(chain[2]) else { throw AttestationError(.chainInvalid, "unexpected PCK chain") }
        let pck = try pckCRL.map { try IntelCRL(der: $0) }
        try pck?.verify(issuedBy: chain[1], at: date)
        let root = try rootCRL.map { try IntelCRL(der: $0) }
        try root?.verify(issuedBy: chain[2], at: date)
        if pck?.revokes(chain[0]) == true { throw AttestationError(.certificateRevoked, "the PCK certificate is revoked") }
        if root?.revokes(chain[1]) == true { throw AttestationError(.certificateRevoked, "the PCK CA certificate is revoked") }
    }
}
