import Attestation
import Crypto
import Foundation
import SealgateCore
import SwiftASN1
import X509

/// The TD Quoting Enclave identity (Intel PCS `enclaveIdentity`), verified over its exact signed bytes, and the
/// QE status of a quote's QE report.
public struct TDXQEIdentity: Sendable {
    struct Level: Decodable {
        struct TCB: Decodable { let isvsvn: Int }
        let tcb: TCB
        let tcbStatus: String
    }
    struct Body: Decodable {
        let id: String?
        let issueDate: String
        let nextUpdate: String
        let miscselect: String
        let miscselectMask: String
        let attributes: String
        let attributesMask: String
        let mrsigner: String
        let isvprodid: Int
        let tcbLevels: [Level]
    }

    let body: Body

    /// Verifies `qe_identity.json` with the TCB signing chain (issued by `root`) at `date`.
    /// - Throws: ``AttestationError`` naming the failed check.
    public init(json: Data, signingChainPEM: String, root: Certificate, at date: Date) throws {
        guard let raw = TDXTCBInfo.rawValue(of: "enclaveIdentity", in: json) else {
            throw AttestationError(.malformedEvidence, "QE Identity is not {enclaveIdentity, signature}")
        }
        try TDXTCBInfo.verifySigned(raw: raw, file: json, signingChainPEM: signingChainPEM, root: root, at: date)
        guard let decoded = try? JSONDecoder().decode(Body.self, from: raw) else {
            throw AttestationError(.malformedEvidence, "QE Identity fields are missing")
        }
        guard ASN1Time.isCurrent(issueDate: decoded.issueDate, nextUpdate: decoded.nextUpdate, at: date) else {
            throw AttestationError(.evidenceExpired, "the QE Identity is not current at the verification time")
        }
        // The TD Quoting Enclave's identity, not the SGX QE's or the QVE's (which share Intel's signer).
        guard decoded.id == "TD_QE" else {
            throw AttestationError(.malformedEvidence, "the QE Identity is not the TD QE's (id \(decoded.id ?? "none"))")
        }
        body = decoded
    }

    /// The QE's status: its MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES must match; the first TCB level
    /// whose ISVSVN the QE meets gives the status.
    /// - Throws: ``AttestationError`` `measurement_unknown` when the QE is not Intel's TD QE.
    public func status(qeReport: Data) throws -> TCBStatus {
        let r = [UInt8](qeReport)
        guard r.count == 384 else { throw AttestationError(.malformedEvidence, "QE report is not 384 bytes") }
        func masked(_ value: ArraySlice<UInt8>, _ mask: String) -> String {
            let m = [UInt8](Hex.decode(mask) ?? Data())
            return Hex.encode(zip(value, m).map { $0 & $1 })
        }
        let miscselect = Array(r[16..<20])
        let attributes = r[48..<64]
        let mrsigner = Hex.encode(r[128..<160])
        let isvprodid = Int(r[256]) | Int(r[257]) << 8
        let isvsvn = Int(r[258]) | Int(r[259]) << 8
        let expectedMisc = [UInt8](Hex.decode(body.miscselect) ?? Data())
        let maskMisc = [UInt8](Hex.decode(body.miscselectMask) ?? Data())
        // MISCSELECT is a little-endian u32 in the report and big-endian hex in the identity.
        let miscOK = zip(zip(miscselect.reversed(), maskMisc), expectedMisc).allSatisfy { ($0.0 & $0.1) == ($1 & $0.1) }
        guard mrsigner == body.mrsigner.lowercased(), isvprodid == body.isvprodid, miscOK,
            masked(attributes, body.attributesMask) == masked(ArraySlice([UInt8](Hex.decode(body.attributes) ?? Data())), body.attributesMask)
        else { throw AttestationError(.measurementUnknown, "the Quoting Enclave is not the identity Intel publishes") }
        return body.tcbLevels.first { isvsvn >= $0.tcb.isvsvn }.map { TCBStatus($0.tcbStatus) } ?? .noMatchingTCBLevel
    }
}

extension TDXTCBInfo {
    /// Verifies the ECDSA P-256 `signature` of a PCS collateral file over `raw` with its signing chain.
    static func verifySigned(raw: Data, file: Data, signingChainPEM: String, root: Certificate, at date: Date) throws {
        guard let object = try? JSONSerialization.jsonObject(with: file) as? [String: Any],
            let signatureHex = object["signature"] as? String, let bytes = Hex.decode(signatureHex),
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: bytes)
        else { throw AttestationError(.malformedEvidence, "collateral has no signature") }
        let chain: [Certificate]
        do { chain = try PEMDocument.parseMultiple(pemString: signingChainPEM).map { try Certificate(pemDocument: $0) } } catch {
            throw AttestationError(.malformedEvidence, "the collateral signing chain is not PEM certificates")
        }
        guard let signer = chain.first, signer.issuer == root.subject, root.publicKey.isValidSignature(signer.signature, for: signer) else {
            throw AttestationError(.chainInvalid, "the collateral signer is not issued by the Intel SGX Root CA")
        }
        guard signer.notValidBefore <= date, date <= signer.notValidAfter else {
            throw AttestationError(.certificateExpired, "the TCB signing certificate is not valid at the verification time")
        }
        guard let key = P256.Signing.PublicKey(signer.publicKey), key.isValidSignature(signature, for: raw) else {
            throw AttestationError(.signatureInvalid, "the collateral signature does not verify")
        }
    }
}

extension TDXAttestationVerifier {
    /// The QE status of a verified quote under verified QE Identity.
    public func qeStatus(quote: TDXQuote, qeIdentityJSON: Data, signingChainPEM: String, at date: Date) throws -> TCBStatus {
        let chain = try quote.pckCertificates()
        guard let root = chain.last, pinnedRoot(root) else { throw AttestationError(.chainInvalid, "unexpected PCK chain") }
        return try TDXQEIdentity(json: qeIdentityJSON, signingChainPEM: signingChainPEM, root: root, at: date).status(qeReport: quote.qeReport)
    }
}
