import Foundation

/// A DSSE envelope (https://github.com/secure-systems-lab/dsse) with exactly one signature, as Sigstore requires.
public struct DSSEEnvelope: Sendable {
    public let payloadType: String
    public let payload: Data
    public let signature: Data

    /// The pre-authentication encoding the signature covers:
    /// `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`, lengths in ASCII decimal.
    public var pae: Data { Self.pae(payloadType: payloadType, payload: payload) }

    /// PAE of a payload type and payload.
    public static func pae(payloadType: String, payload: Data) -> Data {
        let type = Data(payloadType.utf8)
        var out = Data("DSSEv1 \(type.count) ".utf8)
        out.append(type)
        out.append(Data(" \(payload.count) ".utf8))
        out.append(payload)
        return out
    }

    init(wire: Wire) throws {
        guard wire.signatures.count == 1 else {
            throw SigstoreError(.invalidEnvelope, "the DSSE envelope has \(wire.signatures.count) signatures, not one")
        }
        payloadType = wire.payloadType
        payload = try B64.decode(wire.payload, "dsseEnvelope.payload")
        signature = try B64.decode(wire.signatures[0].sig, "dsseEnvelope.signatures.sig")
    }

    struct Wire: Decodable {
        struct Signature: Decodable { let sig: String; let keyid: String? }
        let payload: String
        let payloadType: String
        let signatures: [Signature]
    }
}

/// An in-toto statement (v0.1 or v1): its subjects and predicate, as a DSSE payload of type
/// `application/vnd.in-toto+json` carries it.
public struct InTotoStatement: Sendable {
    /// The DSSE payload type of in-toto statements.
    public static let payloadType = "application/vnd.in-toto+json"
    static let statementTypes: Set<String> = ["https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"]

    /// A subject: a name and its digests by algorithm (`sha256` → lowercase hex).
    public struct Subject: Sendable, Equatable {
        public let name: String
        public let digests: [String: String]
    }

    public let type: String
    public let subjects: [Subject]
    public let predicateType: String
    /// The statement as signed (the DSSE payload).
    let payload: Data

    /// The predicate as JSON, for callers that read it (re-serialized from the payload on each access; `{}` when the
    /// statement has none).
    public var predicate: Data {
        let object = (try? JSONSerialization.jsonObject(with: payload) as? [String: Any])?["predicate"] ?? [String: Any]()
        return (try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed])) ?? Data()
    }

    /// Parses a statement.
    /// - Throws: ``SigstoreError`` `invalid_envelope` when the payload is not an in-toto statement v0.1/v1 with
    ///   at least one subject, each with a digest set.
    public init(payload: Data) throws {
        try StrictJSON.requireUniqueKeys(payload, reason: .invalidEnvelope, what: "the DSSE payload")
        guard let wire = try? JSONDecoder().decode(Wire.self, from: payload), Self.statementTypes.contains(wire.type),
            !wire.subject.isEmpty
        else { throw SigstoreError(.invalidEnvelope, "the DSSE payload is not an in-toto statement v0.1 or v1 with subjects and digests") }
        type = wire.type
        subjects = wire.subject.map { Subject(name: $0.name, digests: $0.digest) }
        predicateType = wire.predicateType
        self.payload = payload
    }

    /// The statement's fields this verifier reads, decoded with `JSONDecoder` (a subject's name that is not a string
    /// reads as empty; a digest set that is not an object of strings refuses the statement).
    struct Wire: Decodable {
        struct WireSubject: Decodable {
            let name: String
            let digest: [String: String]
            private enum Keys: String, CodingKey { case name, digest }
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Keys.self)
                name = (try? c.decode(String.self, forKey: .name)) ?? ""
                digest = try c.decode([String: String].self, forKey: .digest)
            }
        }
        let type: String
        let subject: [WireSubject]
        let predicateType: String
        private enum CodingKeys: String, CodingKey {
            case type = "_type", subject, predicateType
        }
    }

    /// Whether a subject names this SHA-256 digest.
    public func names(sha256 digest: Data) -> Bool {
        let hex = digest.hexString
        return subjects.contains { $0.digests["sha256"]?.lowercased() == hex }
    }
}

extension Data {
    /// Lowercase hexadecimal.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses lowercase or uppercase hexadecimal; nil when it is not hex of even length.
    init?(hex: String) {
        let utf8 = hex.utf8
        guard utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        var high: UInt8?
        for c in utf8 {
            let nibble: UInt8
            switch c {
            case 0x30...0x39: nibble = c - 0x30
            case 0x41...0x46: nibble = c - 0x41 + 10
            case 0x61...0x66: nibble = c - 0x61 + 10
            default: return nil
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        self.init(bytes)
    }
}
