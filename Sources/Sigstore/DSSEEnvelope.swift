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
    /// The predicate as JSON, for callers that read it (OpenSSF model signing).
    public let predicate: Data

    /// Parses a statement.
    /// - Throws: ``SigstoreError`` `invalid_envelope` when the payload is not an in-toto statement v0.1/v1 with
    ///   at least one subject.
    public init(payload: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: payload) as? [String: Any],
            let type = object["_type"] as? String, Self.statementTypes.contains(type),
            let rawSubjects = object["subject"] as? [[String: Any]], !rawSubjects.isEmpty,
            let predicateType = object["predicateType"] as? String
        else { throw SigstoreError(.invalidEnvelope, "the DSSE payload is not an in-toto statement v0.1 or v1") }
        var subjects: [Subject] = []
        for raw in rawSubjects {
            guard let digest = raw["digest"] as? [String: String] else {
                throw SigstoreError(.invalidEnvelope, "an in-toto subject has no digest set")
            }
            subjects.append(Subject(name: raw["name"] as? String ?? "", digests: digest))
        }
        self.type = type
        self.subjects = subjects
        self.predicateType = predicateType
        let predicateObject = object["predicate"] ?? [String: Any]()
        predicate = (try? JSONSerialization.data(withJSONObject: predicateObject, options: [.fragmentsAllowed])) ?? Data()
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
        guard hex.utf8.count % 2 == 0, hex.allSatisfy(\.isHexDigit) else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(hex.utf8.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
