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
///     earDigest      OCTET STRING, -- SHA-256 of the EAR token the broker issued at that attestation
///     modelDigest    UTF8String OPTIONAL  -- version 2 only: "sha256:<hex>", the sealed model the evidence bound
/// }
/// ```
///
/// Version 1 has no `modelDigest`; a certificate for a workload whose evidence bound a model digest is version 2.
public struct WorkloadExtension: Sendable, Equatable, DERImplicitlyTaggable {
    /// The extension's OID, `1.3.6.1.4.1.59337.1.1` (see `docs/protocol.md` on its registration).
    public static let oid: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 59337, 1, 1]
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var workload: String
    public var tee: String
    public var measurement: String
    public var status: String
    public var earDigest: Data
    /// The model digest (`sha256:<hex>`) the workload's evidence bound (``RuntimeData/modelDigest``): the sealed model
    /// `tee-proxy --model` serves. Nil for workloads that bound none (encoded as version 1).
    public var modelDigest: String?

    public init(workload: String, tee: String, measurement: String, status: String, earDigest: Data, modelDigest: String? = nil) {
        self.workload = workload
        self.tee = tee
        self.measurement = measurement
        self.status = status
        self.earDigest = earDigest
        self.modelDigest = modelDigest
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try Int(derEncoded: &nodes)
            guard version == 1 || version == 2 else { throw ASN1Error.invalidASN1Object(reason: "unknown SealgateWorkload version \(version)") }
            let workload = try ASN1UTF8String(derEncoded: &nodes)
            let tee = try ASN1UTF8String(derEncoded: &nodes)
            let measurement = try ASN1UTF8String(derEncoded: &nodes)
            let status = try ASN1UTF8String(derEncoded: &nodes)
            let digest = try ASN1OctetString(derEncoded: &nodes)
            var model: String?
            if version == 2 { model = String(try ASN1UTF8String(derEncoded: &nodes)) }
            return WorkloadExtension(
                workload: String(workload), tee: String(tee), measurement: String(measurement), status: String(status),
                earDigest: Data(digest.bytes), modelDigest: model)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(modelDigest == nil ? 1 : 2)
            try coder.serialize(ASN1UTF8String(workload))
            try coder.serialize(ASN1UTF8String(tee))
            try coder.serialize(ASN1UTF8String(measurement))
            try coder.serialize(ASN1UTF8String(status))
            try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(earDigest)))
            if let modelDigest { try coder.serialize(ASN1UTF8String(modelDigest)) }
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
