import Attestation
import Crypto
import Foundation
import SealgateCore
import SwiftASN1
import X509

/// The verified contents of an AWS Nitro Enclaves attestation document.
public struct NitroDocument: Sendable, Equatable {
    public let moduleID: String
    public let digest: String
    /// Milliseconds since 1970.
    public let timestamp: UInt64
    /// PCR index → value (48 bytes each).
    public let pcrs: [Int: Data]
    public let publicKey: Data?
    public let userData: Data?
    public let nonce: Data?

    /// A debug enclave reports PCR0, PCR1 and PCR2 as all zeros.
    public var isDebug: Bool {
        (0...2).allSatisfy { pcrs[$0].map { $0.allSatisfy { $0 == 0 } } ?? true }
    }

    /// When the document was made.
    public var date: Date { Date(timeIntervalSince1970: Double(timestamp) / 1000) }
}

/// The outcome of verifying a Nitro document.
public enum NitroVerification: Sendable, Equatable {
    case verified(NitroDocument)
    case rejected([AttestationFailure])
}

/// Verifies AWS Nitro Enclaves attestation documents: COSE_Sign1 with ES384 by the leaf certificate, the chain
/// from the pinned AWS Nitro Enclaves Root-G1 through `cabundle` to the leaf, each certificate valid at the
/// document's timestamp. Pure: the root is given, no network.
public struct NitroAttestationVerifier: AttestationVerifier {
    public let tee = TEEType.nitro
    let pinnedRoots: Set<String>
    /// The largest document accepted.
    public var maxSize = 64 * 1024
    /// How far a document's timestamp may lie from the verification time (freshness; the leaf certificate itself
    /// lives about three hours).
    public var maxAge: TimeInterval = 300

    /// A verifier trusting the AWS Nitro Enclaves Root-G1 (``VendorRoots/awsNitro``).
    public init() { pinnedRoots = VendorRoots.awsNitro }

    /// A verifier trusting exactly the given root certificate.
    /// - Throws: ``AttestationError`` when it is not a PEM certificate.
    public init(rootPEM: String) throws {
        do { pinnedRoots = [VendorRoots.fingerprint(try PEMDocument(pemString: rootPEM).derBytes)] } catch {
            throw AttestationError(.malformedEvidence, "the Nitro root is not a PEM certificate")
        }
    }

    public func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome {
        switch verifyDocument(evidence.bytes) {
        case .rejected(let failures):
            return .rejected(failures)
        case .verified(let document):
            guard abs(now.timeIntervalSince(document.date)) <= maxAge else {
                return .rejected([AttestationFailure(.evidenceExpired, "document timestamp is outside the freshness window at the verification time")])
            }
            let measurement = (0...2).map { Hex.encode(document.pcrs[$0] ?? Data()) }.joined()
            return .verified(
                VerifiedClaims(
                    tee: .nitro, measurement: measurement, reportData: document.userData ?? document.nonce ?? Data(),
                    initDataDigest: nil, debug: document.isDebug, svn: 0, signerID: document.moduleID))
        }
    }

    /// Verifies a document and returns its contents, or every reason it was rejected.
    public func verifyDocument(_ bytes: Data) -> NitroVerification {
        func reject(_ reason: AttestationReason, _ detail: String) -> NitroVerification {
            .rejected([AttestationFailure(reason, detail)])
        }
        guard bytes.count <= maxSize else { return reject(.malformedEvidence, "document larger than \(maxSize) bytes") }
        var decoder = CBORDecoder()
        decoder.maxSize = maxSize
        guard var top = try? decoder.decode(bytes) else { return reject(.malformedEvidence, "not CBOR") }
        if case .tagged(18, let inner) = top { top = inner }
        guard let parts = top.array, parts.count == 4, let protected = parts[0].bytes, case .map = parts[1],
            let payload = parts[2].bytes, let signature = parts[3].bytes
        else { return reject(.malformedEvidence, "not a COSE_Sign1 structure") }
        guard let header = try? decoder.decode(protected), header == .map([(.unsigned(1), .negative(34))]) else {
            return reject(.unsupportedEvidence, "protected header is not {alg: ES384}")
        }
        guard let body = try? decoder.decode(payload), let moduleID = body["module_id"]?.text, let digest = body["digest"]?.text,
            let timestamp = body["timestamp"]?.unsigned, case .map(let pcrPairs)? = body["pcrs"],
            let leafDER = body["certificate"]?.bytes, let bundle = body["cabundle"]?.array
        else { return reject(.malformedEvidence, "payload lacks required fields") }
        guard digest == "SHA384" else { return reject(.unsupportedEvidence, "digest \(digest) is not SHA384") }
        var pcrs: [Int: Data] = [:]
        for (key, value) in pcrPairs {
            guard let index = key.unsigned, index < 32, let pcr = value.bytes, [32, 48, 64].contains(pcr.count) else {
                return reject(.malformedEvidence, "malformed PCR entry")
            }
            pcrs[Int(index)] = pcr
        }
        func optionalBytes(_ key: String) -> Data? { body[key]?.bytes }
        let document = NitroDocument(
            moduleID: moduleID, digest: digest, timestamp: timestamp, pcrs: pcrs, publicKey: optionalBytes("public_key"),
            userData: optionalBytes("user_data"), nonce: optionalBytes("nonce"))

        // Chain: cabundle[0] is the pinned root; each next certificate is signed by the previous one.
        let bundleDER = bundle.compactMap(\.bytes)
        guard bundleDER.count == bundle.count, let first = bundleDER.first, pinnedRoots.contains(VendorRoots.fingerprint(first)),
            let root = try? Certificate(derEncoded: [UInt8](first)), root.publicKey.isValidSignature(root.signature, for: root)
        else { return reject(.chainInvalid, "cabundle does not start with the pinned AWS Nitro root") }
        var chain: [Certificate] = [root]
        for der in bundleDER.dropFirst() + [leafDER] {
            guard let certificate = try? Certificate(derEncoded: [UInt8](der)) else {
                return reject(.malformedEvidence, "a certificate in the chain does not parse")
            }
            chain.append(certificate)
        }
        let at = document.date
        for (i, certificate) in chain.enumerated() {
            guard certificate.notValidBefore <= at, at <= certificate.notValidAfter else {
                return reject(.certificateExpired, "certificate \(i) of the chain is not valid at the document's timestamp")
            }
            if i > 0 {
                guard chain[i - 1].publicKey.isValidSignature(certificate.signature, for: certificate),
                    certificate.issuer == chain[i - 1].subject
                else { return reject(.chainInvalid, "certificate \(i) is not signed by its issuer in the chain") }
            }
            if i < chain.count - 1 {
                guard let constraints = try? certificate.extensions.basicConstraints,
                    case .isCertificateAuthority = constraints
                else { return reject(.chainInvalid, "certificate \(i) issues others but is not a CA") }
            }
        }
        // COSE Sig_structure: ["Signature1", protected, external_aad = h'', payload].
        var toBeSigned: [UInt8] = CBOREncoder.head(4, 4) + CBOREncoder.text("Signature1")
        toBeSigned += CBOREncoder.bytes(protected) + CBOREncoder.bytes(Data()) + CBOREncoder.bytes(payload)
        guard let leafKey = P384.Signing.PublicKey(chain[chain.count - 1].publicKey),
            let ecdsa = try? P384.Signing.ECDSASignature(rawRepresentation: signature),
            leafKey.isValidSignature(ecdsa, for: Data(toBeSigned))
        else { return reject(.signatureInvalid, "the document's ES384 signature does not verify with the leaf key") }
        return .verified(document)
    }
}
