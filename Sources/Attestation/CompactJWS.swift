import Crypto
import Foundation
import SealgateCore

/// Compact JWS with ES256 (ECDSA P-256, SHA-256, raw r‖s signatures), as RFC 7515 and RFC 7518 define it.
public enum CompactJWS {
    /// Signs `payload` with a protected header.
    /// - Throws: ``AttestationError`` if the header cannot be encoded or signing fails.
    public static func sign(payload: Data, header: [String: String], key: P256.Signing.PrivateKey) throws -> String {
        var fullHeader = header
        fullHeader["alg"] = "ES256"
        let headerData: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            headerData = try encoder.encode(fullHeader)
        } catch {
            throw AttestationError(.malformedEvidence, "JWS header could not be encoded")
        }
        let signingInput = Base64URL.encode(headerData) + "." + Base64URL.encode(payload)
        do {
            let signature = try key.signature(for: Data(signingInput.utf8))
            return signingInput + "." + Base64URL.encode(signature.rawRepresentation)
        } catch {
            throw AttestationError(.signatureInvalid, "ES256 signing failed")
        }
    }

    /// A JWS split into its parts, before its signature is checked.
    public struct Parsed: Sendable {
        public let header: [String: String]
        public let payload: Data
        public let signingInput: Data
        public let signature: Data
    }

    /// Splits and decodes a compact JWS (bounded to `maxLength` characters). Does not verify.
    /// - Throws: ``AttestationError`` with `malformed_evidence` when it is not a compact ES256 JWS.
    public static func parse(_ token: String, maxLength: Int = 64 * 1024) throws -> Parsed {
        guard token.utf8.count <= maxLength else { throw AttestationError(.malformedEvidence, "JWS too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(String(parts[0])),
            let payload = Base64URL.decode(String(parts[1])), let signature = Base64URL.decode(String(parts[2]))
        else { throw AttestationError(.malformedEvidence, "not a compact JWS") }
        guard let object = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw AttestationError(.malformedEvidence, "JWS header is not a JSON object")
        }
        var header = [String: String]()
        for (key, value) in object {
            if let text = value as? String { header[key] = text }
        }
        guard header["alg"] == "ES256" else { throw AttestationError(.malformedEvidence, "JWS alg must be ES256") }
        return Parsed(
            header: header, payload: payload, signingInput: Data((parts[0] + "." + parts[1]).utf8),
            signature: signature)
    }

    /// Whether `parsed` carries a valid signature by `key`.
    public static func isValid(_ parsed: Parsed, key: P256.Signing.PublicKey) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: parsed.signature) else {
            return false
        }
        return key.isValidSignature(signature, for: parsed.signingInput)
    }

    /// The RFC 7638 JWK thumbprint (base64url SHA-256) of a P-256 public key; used as a key id.
    public static func thumbprint(_ key: P256.Signing.PublicKey) -> String {
        thumbprint(x963: key.x963Representation)
    }

    /// The RFC 7638 thumbprint of a P-256 public key given in X9.63 form.
    public static func thumbprint(x963: Data) -> String {
        let (x, y) = coordinates(x963: x963)
        let json = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"\(x)\",\"y\":\"\(y)\"}"
        return Base64URL.encode(Data(SHA256.hash(data: Data(json.utf8))))
    }

    /// The base64url x and y coordinates of an uncompressed X9.63 P-256 point.
    public static func coordinates(x963: Data) -> (x: String, y: String) {
        let bytes = Array(x963)
        guard bytes.count == 65 else { return ("", "") }
        return (Base64URL.encode(Data(bytes[1..<33])), Base64URL.encode(Data(bytes[33..<65])))
    }
}
