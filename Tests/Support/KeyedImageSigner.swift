import Crypto
import Foundation
import SealgateCore

/// An image signer made here with a real P-256 key: keyed DSSE Sigstore bundles whose in-toto subject is an image
/// digest, as `cosign attest --key` makes them (no log entry: keyed verification does not need one).
public struct KeyedImageSigner: Sendable {
    /// A fresh signer.
    public init() {}

    public let key = P256.Signing.PrivateKey()
    /// The public key, PEM.
    public var pem: String { key.publicKey.pemRepresentation }
    /// How reference-value results name this signer.
    public var name: String { "key:sha256:" + Hex.encode(SHA256.hash(data: key.publicKey.derRepresentation)) }

    /// A keyed DSSE bundle whose in-toto statement names `digest` (`sha256:<hex>`) as its subject.
    public func bundle(subject digest: String) throws -> String {
        let hex = String(digest.dropFirst("sha256:".count))
        let statement = Data(
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example/gateway","digest":{"sha256":"\#(hex)"}}],"predicateType":"https://cosign.sigstore.dev/attestation/v1","predicate":{}}"#.utf8)
        return try keyedDSSEBundle(statement: statement, key: key)
    }
}
