import Foundation

extension RekorBody {
    /// A canonicalized Rekor entry body, decoded once with `JSONDecoder`. Only the spec of the body's own `kind` and
    /// `apiVersion` is decoded (``RekorBody/check(_:matches:)`` requires them to be the entry's); it is nil when it is
    /// not of the expected shape (a field of the wrong type, a missing field): such a body then records nothing and is
    /// refused as `tlog_body_mismatch`.
    struct Body: Decodable {
        struct Hash: Decodable { let algorithm: String; let value: String }
        struct Content: Decodable { let content: String }
        struct RawBytes: Decodable { let rawBytes: String }
        /// Rekor v2's signer: a certificate or a public key, DER.
        struct Verifier: Decodable { let x509Certificate: RawBytes?; let publicKey: RawBytes? }

        struct HashedRekordV1: Decodable {
            struct DataField: Decodable { let hash: Hash }
            struct Signature: Decodable { let content: String; let publicKey: Content }
            let data: DataField
            let signature: Signature
        }

        struct HashedRekordV2: Decodable {
            struct DataField: Decodable { let algorithm: String; let digest: String }
            struct Signature: Decodable { let content: String; let verifier: Verifier }
            let data: DataField
            let signature: Signature
        }

        struct DSSEV1: Decodable {
            struct Signature: Decodable { let signature: String; let verifier: String }
            let payloadHash: Hash
            let signatures: [Signature]
        }

        struct DSSEV2: Decodable {
            struct PayloadHash: Decodable { let algorithm: String; let digest: String }
            struct Signature: Decodable { let content: String; let verifier: Verifier }
            let payloadHash: PayloadHash
            let signatures: [Signature]
        }

        /// The spec, read as the body's kind and version.
        struct Spec {
            let hashedRekordV1: HashedRekordV1?
            let hashedRekordV2: HashedRekordV2?
            let dsseV1: DSSEV1?
            let dsseV2: DSSEV2?

            private enum Keys: String, CodingKey { case hashedRekordV002, dsseV002 }

            /// - Throws: when the spec is not a JSON object.
            init(from decoder: any Decoder, kind: String?, version: String?) throws {
                let c = try decoder.container(keyedBy: Keys.self)
                var (hr1, hr2, d1, d2): (HashedRekordV1?, HashedRekordV2?, DSSEV1?, DSSEV2?) = (nil, nil, nil, nil)
                switch (kind, version) {
                case ("hashedrekord", "0.0.1"): hr1 = try? HashedRekordV1(from: decoder)
                case ("hashedrekord", "0.0.2"): hr2 = try? c.decode(HashedRekordV2.self, forKey: .hashedRekordV002)
                case ("dsse", "0.0.1"): d1 = try? DSSEV1(from: decoder)
                case ("dsse", "0.0.2"): d2 = try? c.decode(DSSEV2.self, forKey: .dsseV002)
                default: break
                }
                (hashedRekordV1, hashedRekordV2, dsseV1, dsseV2) = (hr1, hr2, d1, d2)
            }
        }

        let kind: String?
        let apiVersion: String?
        let spec: Spec

        private enum Keys: String, CodingKey { case kind, apiVersion, spec }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            kind = try? c.decode(String.self, forKey: .kind)
            apiVersion = try? c.decode(String.self, forKey: .apiVersion)
            spec = try Spec(from: try c.superDecoder(forKey: .spec), kind: kind, version: apiVersion)
        }
    }
}
