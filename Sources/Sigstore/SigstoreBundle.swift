import Foundation

/// A parsed Sigstore bundle (`dev.sigstore.bundle.v1.Bundle`, protobuf JSON), media types v0.1, v0.2 and v0.3.
///
/// Parsing checks the shape only: one verification material, one content, base64 fields decodable. Nothing is
/// trusted until ``BundleVerifier`` has checked it.
public struct SigstoreBundle: Sendable {
    /// Bundles larger than this are refused before they are parsed (16 MiB: a public-good bundle is a few kB, one
    /// with 32 timestamps 60 kB; an OpenSSF model signature lists about 100 bytes per file).
    public static let maximumSize = 16 << 20
    /// At most this many RFC 3161 timestamps (sigstore-python's limit against resource exhaustion).
    public static let maximumTimestamps = 32

    /// The bundle format version.
    public enum Version: Int, Sendable, Comparable {
        case v01 = 1, v02 = 2, v03 = 3
        public static func < (a: Version, b: Version) -> Bool { a.rawValue < b.rawValue }
    }

    /// The key or certificate(s) that verify the signature.
    public enum Material: Sendable {
        /// A single leaf certificate, DER (v0.3).
        case certificate(Data)
        /// A certificate chain, leaf first, DER (v0.1, v0.2; OpenSSF model signatures).
        case chain([Data])
        /// A key known to the verifier out of band; `hint` names it.
        case publicKey(hint: String?)
    }

    /// What was signed.
    public enum Content: Sendable {
        /// A signature over the artifact itself (hashedrekord); `digest` is the bundle's own claim of its SHA-256.
        case messageSignature(signature: Data, digest: Data?)
        /// A DSSE envelope.
        case dsse(DSSEEnvelope)
    }

    public let version: Version
    public let mediaType: String
    public let material: Material
    public let tlogEntries: [TlogEntry]
    /// DER `TimeStampResp` values of `timestampVerificationData.rfc3161Timestamps`.
    public let timestamps: [Data]
    public let content: Content

    /// Parses a bundle.
    /// - Throws: ``SigstoreError`` `malformed_bundle`, `unknown_media_type` or `invalid_verification_material`.
    public init(json: Data) throws {
        guard json.count <= Self.maximumSize else {
            throw SigstoreError(.malformedBundle, "bundle is \(json.count) bytes, above the limit of \(Self.maximumSize)")
        }
        try StrictJSON.requireUniqueKeys(json, reason: .malformedBundle, what: "the bundle")
        let wire: WireBundle
        do { wire = try JSONDecoder().decode(WireBundle.self, from: json) } catch let error as SigstoreError {
            throw error
        } catch { throw SigstoreError(.malformedBundle, "not a Sigstore bundle: \(Self.describe(error))") }
        guard let version = Self.version(of: wire.mediaType) else {
            throw SigstoreError(.unknownMediaType, "unknown bundle media type '\(wire.mediaType)'")
        }
        self.version = version
        mediaType = wire.mediaType
        let vm = wire.verificationMaterial
        let materials = [vm.certificate != nil, vm.x509CertificateChain != nil, vm.publicKey != nil].filter { $0 }.count
        guard materials == 1 else {
            throw SigstoreError(.invalidVerificationMaterial, "the bundle has \(materials) verification materials, not one")
        }
        if let cert = vm.certificate {
            // `certificate` exists from v0.3 on; earlier versions carry `x509CertificateChain` (protobuf-specs).
            guard version == .v03 else {
                throw SigstoreError(.invalidVerificationMaterial, "a v0.1 or v0.2 bundle carries a certificate chain, not 'certificate'")
            }
            material = .certificate(try B64.decode(cert.rawBytes, "certificate.rawBytes"))
        } else if let chain = vm.x509CertificateChain {
            let certs = try chain.certificates.map { try B64.decode($0.rawBytes, "x509CertificateChain") }
            guard !certs.isEmpty else { throw SigstoreError(.invalidVerificationMaterial, "the certificate chain is empty") }
            material = .chain(certs)
        } else {
            material = .publicKey(hint: vm.publicKey?.hint)
        }
        tlogEntries = try (vm.tlogEntries ?? []).map(TlogEntry.init(wire:))
        // A v0.1 bundle's log entries must carry an inclusion promise (the SET); later versions may rely on the
        // inclusion proof and a timestamp instead.
        if version == .v01, tlogEntries.contains(where: { $0.signedEntryTimestamp == nil }) {
            throw SigstoreError(.malformedBundle, "a v0.1 bundle's log entry has no inclusion promise")
        }
        let stamps = vm.timestampVerificationData?.rfc3161Timestamps ?? []
        timestamps = try stamps.map { try B64.decode($0.signedTimestamp, "rfc3161Timestamps.signedTimestamp") }
        switch (wire.messageSignature, wire.dsseEnvelope) {
        case (let sig?, nil):
            let digest = try sig.messageDigest.map { d -> Data in
                guard d.algorithm == "SHA2_256" else {
                    throw SigstoreError(.malformedBundle, "message digest algorithm \(d.algorithm) is not SHA2_256")
                }
                return try B64.decode(d.digest, "messageDigest.digest")
            }
            content = .messageSignature(signature: try B64.decode(sig.signature, "messageSignature.signature"), digest: digest)
        case (nil, let env?):
            content = .dsse(try DSSEEnvelope(wire: env))
        default:
            throw SigstoreError(.malformedBundle, "the bundle needs exactly one of messageSignature and dsseEnvelope")
        }
    }

    /// The bundle version a media type names, or nil.
    public static func version(of mediaType: String) -> Version? {
        switch mediaType {
        case "application/vnd.dev.sigstore.bundle+json;version=0.1": .v01
        case "application/vnd.dev.sigstore.bundle+json;version=0.2": .v02
        case "application/vnd.dev.sigstore.bundle+json;version=0.3", "application/vnd.dev.sigstore.bundle.v0.3+json": .v03
        default: nil
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted: "not valid JSON"
        default: "cannot decode"
        }
    }
}

/// Base64 fields of the bundle and trusted root.
enum B64 {
    static func decode(_ text: String, _ field: String, _ reason: SigstoreReason = .malformedBundle) throws -> Data {
        guard let data = Data(base64Encoded: text) else { throw SigstoreError(reason, "\(field) is not base64") }
        return data
    }
}

/// A 64-bit integer that protobuf JSON writes as a string or a number. The string form (what Sigstore clients
/// write) is tried first, so a bundle's integers cost no thrown decoding error.
struct WireInt: Decodable, Sendable {
    let value: Int64
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            guard let n = Int64(text), String(n) == text else {
                throw SigstoreError(.malformedBundle, "an integer field is neither a number nor a decimal string")
            }
            value = n
        } else if let n = try? c.decode(Int64.self) {
            value = n
        } else {
            throw SigstoreError(.malformedBundle, "an integer field is neither a number nor a decimal string")
        }
    }
}

struct WireBundle: Decodable {
    struct RawBytes: Decodable { let rawBytes: String }
    struct Chain: Decodable { let certificates: [RawBytes] }
    struct PublicKeyID: Decodable { let hint: String? }
    struct Stamp: Decodable { let signedTimestamp: String }
    struct Stamps: Decodable { let rfc3161Timestamps: [Stamp]? }
    struct Material: Decodable {
        let certificate: RawBytes?
        let x509CertificateChain: Chain?
        let publicKey: PublicKeyID?
        let tlogEntries: [TlogEntry.Wire]?
        let timestampVerificationData: Stamps?
    }
    struct MessageDigest: Decodable { let algorithm: String; let digest: String }
    struct MessageSignature: Decodable { let messageDigest: MessageDigest?; let signature: String }
    let mediaType: String
    let verificationMaterial: Material
    let messageSignature: MessageSignature?
    let dsseEnvelope: DSSEEnvelope.Wire?
}
