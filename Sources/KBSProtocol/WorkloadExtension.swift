import Foundation
import SwiftASN1
import X509

/// The Sealgate workload extension of a workload certificate: what the broker's appraisal established about the
/// TEE that holds the certificate's key. Non-critical; documented in `docs/protocol.md`.
///
/// ```
/// SealgateWorkload ::= SEQUENCE {
///     version        INTEGER (1),
///     workloadClass  UTF8String,   -- "gateway", "model:<id>", …
///     teeType        UTF8String,   -- "snp", "tdx", "nitro", "mock", …
///     measurement    UTF8String,   -- as in the attestation result (hex)
///     status         UTF8String,   -- the appraisal status: "affirming" or "warning"
///     earDigest      OCTET STRING  -- SHA-256 of the EAR token the broker issued at that attestation
/// }
/// ```
public struct WorkloadExtension: Sendable, Equatable, DERImplicitlyTaggable {
    /// The extension's OID, `1.3.6.1.4.1.59337.1.1` (see `docs/protocol.md` on its registration).
    public static let oid: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 59337, 1, 1]
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var workload: String
    public var tee: String
    public var measurement: String
    public var status: String
    public var earDigest: Data

    public init(workload: String, tee: String, measurement: String, status: String, earDigest: Data) {
        self.workload = workload
        self.tee = tee
        self.measurement = measurement
        self.status = status
        self.earDigest = earDigest
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try Int(derEncoded: &nodes)
            guard version == 1 else { throw ASN1Error.invalidASN1Object(reason: "unknown SealgateWorkload version \(version)") }
            let workload = try ASN1UTF8String(derEncoded: &nodes)
            let tee = try ASN1UTF8String(derEncoded: &nodes)
            let measurement = try ASN1UTF8String(derEncoded: &nodes)
            let status = try ASN1UTF8String(derEncoded: &nodes)
            let digest = try ASN1OctetString(derEncoded: &nodes)
            return WorkloadExtension(
                workload: String(workload), tee: String(tee), measurement: String(measurement), status: String(status),
                earDigest: Data(digest.bytes))
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(1)
            try coder.serialize(ASN1UTF8String(workload))
            try coder.serialize(ASN1UTF8String(tee))
            try coder.serialize(ASN1UTF8String(measurement))
            try coder.serialize(ASN1UTF8String(status))
            try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(earDigest)))
        }
    }

    /// The X.509 extension carrying this value (non-critical).
    public func certificateExtension() throws -> Certificate.Extension {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return Certificate.Extension(oid: Self.oid, critical: false, value: ArraySlice(serializer.serializedBytes))
    }

    /// The extension of `certificate`, if it has one that parses.
    public init?(_ certificate: Certificate) {
        guard let raw = certificate.extensions[oid: Self.oid], let parsed = try? WorkloadExtension(derEncoded: raw.value) else { return nil }
        self = parsed
    }
}
