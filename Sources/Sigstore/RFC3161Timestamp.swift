import Crypto
import Foundation
import SwiftASN1
import X509

/// An RFC 3161 timestamp response (`TimeStampResp` with a CMS SignedData `TimeStampToken`), parsed and verified
/// against the timestamp authorities of a trusted root.
public struct RFC3161Timestamp: Sendable {
    /// When the TSA says it saw the signature.
    public let genTime: Date
    let imprintAlgorithm: ASN1ObjectIdentifier
    let imprint: Data
    let tstInfo: Data
    let digestAlgorithm: ASN1ObjectIdentifier
    /// The signed attributes, re-tagged as the SET OF they are signed as.
    let signedAttributes: Data
    let attributeDigest: Data?
    let signatureAlgorithm: ASN1ObjectIdentifier
    let signature: Data

    static let signedDataOID: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 2]
    static let tstInfoOID: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 16, 1, 4]
    static let messageDigestOID: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 4]

    /// Parses a DER `TimeStampResp`.
    /// - Throws: ``SigstoreError`` `timestamp_invalid` when it is not a granted response with one signer.
    public init(der: Data) throws {
        do { try self.init(node: try DER.parse(Array(der))) } catch let error as SigstoreError { throw error } catch {
            throw SigstoreError(.timestampInvalid, "an RFC 3161 timestamp cannot be parsed")
        }
    }

    private init(node: ASN1Node) throws {
        let resp = try Self.children(node)
        guard resp.count == 2, let status = try Self.children(resp[0]).first, let code = try? Int(derEncoded: status),
            code == 0 || code == 1
        else { throw SigstoreError(.timestampInvalid, "the timestamp response is not 'granted'") }
        let contentInfo = try Self.children(resp[1])
        guard contentInfo.count == 2, try ASN1ObjectIdentifier(derEncoded: contentInfo[0]) == Self.signedDataOID,
            let signedData = try Self.children(contentInfo[1]).first
        else { throw SigstoreError(.timestampInvalid, "the timestamp token is not CMS SignedData") }
        let sd = try Self.children(signedData)
        guard sd.count >= 4, let encap = Optional(try Self.children(sd[2])), encap.count == 2,
            try ASN1ObjectIdentifier(derEncoded: encap[0]) == Self.tstInfoOID,
            let eContent = try Self.children(encap[1]).first, case .primitive(let tst) = eContent.content,
            let signerSet = sd.last, case let signers = try Self.children(signerSet), signers.count == 1
        else { throw SigstoreError(.timestampInvalid, "the timestamp token has no TSTInfo or not one signer") }
        tstInfo = Data(tst)
        let info = try Self.children(try DER.parse(tst))
        guard info.count >= 5, case let imprint = try Self.children(info[2]), imprint.count == 2,
            let imprintAlg = try Self.children(imprint[0]).first, case .primitive(let hashed) = imprint[1].content
        else { throw SigstoreError(.timestampInvalid, "the TSTInfo is malformed") }
        imprintAlgorithm = try ASN1ObjectIdentifier(derEncoded: imprintAlg)
        self.imprint = Data(hashed)
        genTime = try Self.date(try GeneralizedTime(derEncoded: info[4]))
        let si = try Self.children(signers[0])
        guard si.count >= 5, let digestAlg = try Self.children(si[2]).first,
            si[3].identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
            case .constructed(let attributes) = si[3].content, let sigAlg = try Self.children(si[4]).first,
            si.count >= 6, case .primitive(let sig) = si[5].content
        else { throw SigstoreError(.timestampInvalid, "the timestamp's signer info is malformed") }
        digestAlgorithm = try ASN1ObjectIdentifier(derEncoded: digestAlg)
        signatureAlgorithm = try ASN1ObjectIdentifier(derEncoded: sigAlg)
        signature = Data(sig)
        var attrs = Data()
        var digest: Data?
        for attribute in attributes {
            attrs.append(contentsOf: attribute.encodedBytes)
            let parts = try Self.children(attribute)
            if parts.count == 2, try ASN1ObjectIdentifier(derEncoded: parts[0]) == Self.messageDigestOID,
                let value = try Self.children(parts[1]).first, case .primitive(let d) = value.content
            {
                digest = Data(d)
            }
        }
        signedAttributes = DERWriter.tlv(0x31, attrs)
        attributeDigest = digest
    }

    /// Verifies the token over `signed` (the bundle's signature bytes) against the root's TSAs.
    /// - Returns: the TSA's time when a TSA of the root signed this token over `signed`, its chain (EKU
    ///   timeStamping) holds at `genTime` and `genTime` falls in the TSA's window; otherwise nil: such a token is
    ///   skipped, not an error, and gives no time (as sigstore-python and sigstore-go do).
    func verify(over signed: Data, authorities: [PreparedAuthority], cache: ChainLinkCache) -> Date? {
        guard let expected = Self.digest(signed, imprintAlgorithm), expected == imprint, let attributeDigest,
            Self.digest(tstInfo, digestAlgorithm) == attributeDigest, let algorithm = certificateSignatureAlgorithm
        else { return nil }
        // The token's signature is this bundle's and is verified every time; the TSA's chain is root material, its
        // links verified once per cache.
        for tsa in authorities where tsa.authority.validity.contains(genTime) {
            guard let chain = tsa.chain, let leaf = chain.first?.certificate, chain.count > 1,
                leaf.publicKey.isValidSignature(signature, for: signedAttributes, signatureAlgorithm: algorithm),
                (try? CertificateChain.validate(bundleLeaf: nil, authority: chain, cache: cache, at: [genTime], usage: .timeStamping)) != nil
            else { continue }
            return genTime
        }
        return nil
    }

    static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
    static let sha384: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 2]
    static let sha512: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 3]
    /// Signature algorithm OIDs that name their hash.
    static let signatureAlgorithms: [ASN1ObjectIdentifier: Certificate.SignatureAlgorithm] = [
        [1, 2, 840, 10045, 4, 3, 2]: .ecdsaWithSHA256, [1, 2, 840, 10045, 4, 3, 3]: .ecdsaWithSHA384,
        [1, 2, 840, 10045, 4, 3, 4]: .ecdsaWithSHA512, [1, 2, 840, 113_549, 1, 1, 11]: .sha256WithRSAEncryption,
        [1, 2, 840, 113_549, 1, 1, 12]: .sha384WithRSAEncryption, [1, 2, 840, 113_549, 1, 1, 13]: .sha512WithRSAEncryption,
        [1, 3, 101, 112]: .ed25519,
    ]
    /// Bare key algorithms (rsaEncryption, id-ecPublicKey) with the signer info's digest algorithm.
    static let keyAlgorithms: [ASN1ObjectIdentifier: [ASN1ObjectIdentifier: Certificate.SignatureAlgorithm]] = [
        [1, 2, 840, 113_549, 1, 1, 1]: [sha256: .sha256WithRSAEncryption, sha384: .sha384WithRSAEncryption, sha512: .sha512WithRSAEncryption],
        [1, 2, 840, 10045, 2, 1]: [sha256: .ecdsaWithSHA256, sha384: .ecdsaWithSHA384, sha512: .ecdsaWithSHA512],
    ]

    /// The X.509 signature algorithm the signer info names, or nil when unsupported.
    var certificateSignatureAlgorithm: Certificate.SignatureAlgorithm? {
        Self.signatureAlgorithms[signatureAlgorithm] ?? Self.keyAlgorithms[signatureAlgorithm]?[digestAlgorithm]
    }

    static func digest(_ data: Data, _ algorithm: ASN1ObjectIdentifier) -> Data? {
        if algorithm == sha256 { return Data(SHA256.hash(data: data)) }
        if algorithm == sha384 { return Data(SHA384.hash(data: data)) }
        if algorithm == sha512 { return Data(SHA512.hash(data: data)) }
        return nil
    }

    private static func children(_ node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let nodes) = node.content else {
            throw SigstoreError(.timestampInvalid, "an RFC 3161 structure is not constructed where it must be")
        }
        return Array(nodes)
    }

    private static func date(_ t: GeneralizedTime) throws -> Date {
        var c = DateComponents()
        c.timeZone = TimeZone(identifier: "UTC")
        (c.year, c.month, c.day, c.hour, c.minute, c.second) = (t.year, t.month, t.day, t.hours, t.minutes, t.seconds)
        guard let date = Calendar(identifier: .gregorian).date(from: c) else {
            throw SigstoreError(.timestampInvalid, "impossible timestamp time")
        }
        return date.addingTimeInterval(t.fractionalSeconds)
    }
}
