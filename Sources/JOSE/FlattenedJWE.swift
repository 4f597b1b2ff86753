import Foundation
import SealgateCore

/// A JWE in the flattened JSON serialization (RFC 7516 §7.2.2). Every binary member is base64url text.
///
/// `protected` is the empty string when the JSON has no `protected` member (then it is omitted when encoding,
/// and the AAD is computed over the empty string as RFC 7516 §5.1 step 14 says).
public struct FlattenedJWE: Codable, Sendable, Equatable {
    /// BASE64URL(UTF8(JWE Protected Header)).
    public var protected: String
    /// The JWE Shared Unprotected Header (JSON `unprotected`). Members that are not strings appear as their
    /// compact JSON text (sorted keys).
    public var unprotected: [String: String]?
    /// The per-recipient unprotected header (JSON `header`), rendered like ``unprotected``. python jwcrypto
    /// puts `epk` here.
    public var header: [String: String]?
    /// BASE64URL(JWE Encrypted Key) (JSON `encrypted_key`); absent for `dir`.
    public var encryptedKey: String?
    /// BASE64URL(JWE AAD): additional authenticated data outside the header (JSON serialization only).
    public var aad: String?
    /// BASE64URL(JWE Initialization Vector).
    public var iv: String
    /// BASE64URL(JWE Ciphertext).
    public var ciphertext: String
    /// BASE64URL(JWE Authentication Tag).
    public var tag: String

    /// Non-string members of `unprotected` and `header` as decoded (e.g. an `epk` object that python jwcrypto
    /// puts in the per-recipient header). The public dictionaries carry them as compact JSON text; a member
    /// whose text still matches is written and processed as the original JSON value.
    var unprotectedValues: JOSEHeader = [:]
    var headerValues: JOSEHeader = [:]

    enum CodingKeys: String, CodingKey {
        case protected, unprotected, header
        case encryptedKey = "encrypted_key"
        case aad, iv, ciphertext, tag
        case recipients
    }

    /// Creates a JWE from its members.
    public init(
        protected: String, unprotected: [String: String]? = nil, header: [String: String]? = nil,
        encryptedKey: String? = nil, aad: String? = nil, iv: String, ciphertext: String, tag: String
    ) {
        self.protected = protected
        self.unprotected = unprotected
        self.header = header
        self.encryptedKey = encryptedKey
        self.aad = aad
        self.iv = iv
        self.ciphertext = ciphertext
        self.tag = tag
    }

    /// Decodes the flattened JSON form. The general form (`recipients`) is refused.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard !container.contains(.recipients) else {
            throw DecodingError.dataCorruptedError(
                forKey: .recipients, in: container,
                debugDescription: "general JWE JSON serialization is not supported; use the flattened form")
        }
        protected = try container.decodeIfPresent(String.self, forKey: .protected) ?? ""
        let rawUnprotected = try container.decodeIfPresent(JOSEHeader.self, forKey: .unprotected)
        let rawHeader = try container.decodeIfPresent(JOSEHeader.self, forKey: .header)
        unprotected = rawUnprotected.map(JWEHeader.flatten)
        header = rawHeader.map(JWEHeader.flatten)
        unprotectedValues = rawUnprotected?.filter { $0.value.stringValue == nil } ?? [:]
        headerValues = rawHeader?.filter { $0.value.stringValue == nil } ?? [:]
        encryptedKey = try container.decodeIfPresent(String.self, forKey: .encryptedKey)
        aad = try container.decodeIfPresent(String.self, forKey: .aad)
        iv = try container.decode(String.self, forKey: .iv)
        ciphertext = try container.decode(String.self, forKey: .ciphertext)
        tag = try container.decode(String.self, forKey: .tag)
    }

    /// Encodes the flattened JSON form, omitting absent members (and `protected` when empty).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !protected.isEmpty { try container.encode(protected, forKey: .protected) }
        try container.encodeIfPresent(resolvedUnprotected, forKey: .unprotected)
        try container.encodeIfPresent(resolvedHeader, forKey: .header)
        if let encryptedKey, !encryptedKey.isEmpty { try container.encode(encryptedKey, forKey: .encryptedKey) }
        try container.encodeIfPresent(aad, forKey: .aad)
        try container.encode(iv, forKey: .iv)
        try container.encode(ciphertext, forKey: .ciphertext)
        try container.encode(tag, forKey: .tag)
    }

    /// `unprotected` with non-string members restored to their JSON values.
    var resolvedUnprotected: JOSEHeader? { unprotected.map { Self.resolve($0, unprotectedValues) } }

    /// `header` with non-string members restored to their JSON values.
    var resolvedHeader: JOSEHeader? { header.map { Self.resolve($0, headerValues) } }

    private static func resolve(_ strings: [String: String], _ values: JOSEHeader) -> JOSEHeader {
        var out: JOSEHeader = [:]
        for (name, text) in strings {
            if let value = values[name], let json = try? value.canonicalJSON(),
                String(decoding: json, as: UTF8.self) == text
            {
                out[name] = value
            } else {
                out[name] = .string(text)
            }
        }
        return out
    }

    /// Decodes flattened JSON, mapping every failure to ``JOSEError/Code/malformedJWE``.
    public init(json: Data) throws {
        guard json.count <= JWELimits.maximumSerializationBytes else {
            throw JOSEError.malformedJWE("JWE JSON exceeds \(JWELimits.maximumSerializationBytes) bytes")
        }
        do {
            self = try JSONDecoder().decode(FlattenedJWE.self, from: json)
        } catch {
            throw JOSEError.malformedJWE("not a flattened JWE JSON object with protected, iv, ciphertext and tag")
        }
    }

    /// The flattened JSON form, with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Parses the compact serialization `protected.encrypted_key.iv.ciphertext.tag` (RFC 7516 §7.1).
    ///
    /// Each part must be canonical base64url; the protected header, IV and tag must be non-empty.
    public init(compact: String) throws {
        guard compact.utf8.count <= JWELimits.maximumSerializationBytes else {
            throw JOSEError.malformedJWE("compact JWE exceeds \(JWELimits.maximumSerializationBytes) bytes")
        }
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5 else {
            throw JOSEError.malformedJWE("compact JWE must have 5 parts, found \(parts.count)")
        }
        let names = ["protected header", "encrypted key", "iv", "ciphertext", "tag"]
        for (name, part) in zip(names, parts) where !part.isEmpty && Base64URL.decode(part) == nil {
            throw JOSEError.malformedJWE("compact JWE \(name) is not canonical base64url")
        }
        guard !parts[0].isEmpty, !parts[2].isEmpty, !parts[4].isEmpty else {
            throw JOSEError.malformedJWE("compact JWE needs a protected header, an iv and a tag")
        }
        self.init(
            protected: parts[0], encryptedKey: parts[1].isEmpty ? nil : parts[1], iv: parts[2], ciphertext: parts[3],
            tag: parts[4])
    }

    /// The compact serialization. Throws ``JOSEError/Code/malformedJWE`` when the JWE has members compact form
    /// cannot carry (`aad`, `unprotected`, `header`) or no protected header.
    public var compact: String {
        get throws {
            guard aad == nil, unprotected == nil, header == nil else {
                throw JOSEError.malformedJWE("compact serialization cannot carry aad, unprotected or header members")
            }
            guard !protected.isEmpty else {
                throw JOSEError.malformedJWE("compact serialization needs a protected header")
            }
            return [protected, encryptedKey ?? "", iv, ciphertext, tag].joined(separator: ".")
        }
    }
}
