import Foundation
import SealgateCore

/// Reading and checking JWE headers (RFC 7516 §4, §7.2.1).
enum JWEHeader {
    /// Header parameters this module understands; `crit` may not list them (RFC 7515 §4.1.11) and
    /// `extraHeader` may not set the ones the algorithm controls.
    static let reservedByAlgorithm: Set<String> = ["alg", "enc", "epk", "zip", "crit", "iv", "tag", "p2s", "p2c"]

    /// Decodes BASE64URL(UTF8(JSON object)); the empty string is the empty header.
    static func decodeProtected(_ encoded: String) throws -> JOSEHeader {
        if encoded.isEmpty { return [:] }
        guard encoded.utf8.count <= (JWELimits.maximumHeaderBytes * 4 + 2) / 3 else {
            throw JOSEError.malformedJWE("protected header exceeds \(JWELimits.maximumHeaderBytes) bytes")
        }
        guard let json = Base64URL.decode(encoded) else {
            throw JOSEError.malformedJWE("protected header is not canonical base64url")
        }
        return try decodeObject(json, what: "protected header")
    }

    /// Parses a JSON object, refusing duplicate member names at the top level (RFC 7516 §4: Foundation's
    /// decoder would silently keep the first, where RFC 7515 §4 allows only rejection or the last).
    static func decodeObject(_ json: Data, what: String) throws -> JOSEHeader {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: json)
        } catch {
            throw JOSEError.malformedJWE("\(what) is not valid JSON")
        }
        guard case .object(let object) = value else { throw JOSEError.malformedJWE("\(what) is not a JSON object") }
        guard let names = topLevelNames(json), Set(names).count == names.count, names.count == object.count else {
            throw JOSEError.malformedJWE("\(what) has a duplicate member name")
        }
        return object
    }

    /// The member names of a JSON object that the decoder has already accepted, in order, with escapes decoded.
    /// Scans tokens only: braces and brackets for depth, strings (with escapes) as opaque runs.
    static func topLevelNames(_ json: Data) -> [String]? {
        let bytes = [UInt8](json)
        var names: [String] = []
        var depth = 0
        var expectName = false
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectName = depth == 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                index += 1
            case UInt8(ascii: ","):
                expectName = depth == 1
                index += 1
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                index += 1
                guard index <= bytes.count else { return nil }
                if expectName {
                    let literal = Data([UInt8(ascii: "[")] + bytes[start..<index] + [UInt8(ascii: "]")])
                    guard let name = (try? JSONDecoder().decode([String].self, from: literal))?.first else {
                        return nil
                    }
                    names.append(name)
                    expectName = false
                }
            default:
                index += 1
            }
        }
        return names
    }

    /// The union of the three headers, which must be disjoint (RFC 7516 §7.2.1).
    static func merge(protected: JOSEHeader, unprotected: JOSEHeader?, perRecipient: JOSEHeader?) throws -> JOSEHeader {
        var merged = protected
        for source in [unprotected ?? [:], perRecipient ?? [:]] {
            for (name, value) in source {
                guard merged[name] == nil else {
                    throw JOSEError.malformedJWE(
                        "header parameter \(JOSEError.quote(name)) appears in more than one header")
                }
                merged[name] = value
            }
        }
        return merged
    }

    /// Applies the processing rules that do not depend on the key: `crit`, `zip`, `alg`, `enc`.
    static func algorithms(protected: JOSEHeader, merged: JOSEHeader) throws -> (
        KeyManagementAlgorithm, ContentEncryption
    ) {
        if let crit = merged["crit"] {
            guard protected["crit"] != nil else { throw JOSEError.malformedJWE("crit must be in the protected header") }
            guard case .array(let entries) = crit, !entries.isEmpty else {
                throw JOSEError.malformedJWE("crit must be a non-empty array of names")
            }
            for entry in entries {
                guard let name = entry.stringValue else { throw JOSEError.malformedJWE("crit must list names") }
                if reservedByAlgorithm.contains(name) || ["kid", "apu", "apv", "typ", "cty"].contains(name) {
                    throw JOSEError.malformedJWE("crit must not list the registered parameter \(JOSEError.quote(name))")
                }
                guard merged[name] != nil else {
                    throw JOSEError.malformedJWE("crit lists \(JOSEError.quote(name)), which is not in the header")
                }
                throw JOSEError.unsupported("critical header parameter \(JOSEError.quote(name)) is not understood")
            }
        }
        if merged["zip"] != nil { throw JOSEError.unsupported("compressed JWE (zip) is not supported") }
        guard let algValue = merged["alg"] else { throw JOSEError.malformedJWE("header has no alg") }
        guard let alg = algValue.stringValue else { throw JOSEError.malformedJWE("alg is not a string") }
        guard alg != "none" else { throw JOSEError.unsupported("alg none is not allowed") }
        guard let algorithm = KeyManagementAlgorithm(rawValue: alg) else {
            throw JOSEError.unsupported("alg \(JOSEError.quote(alg)) is not supported")
        }
        guard let encValue = merged["enc"] else { throw JOSEError.malformedJWE("header has no enc") }
        guard let enc = encValue.stringValue else { throw JOSEError.malformedJWE("enc is not a string") }
        guard let encryption = ContentEncryption(rawValue: enc) else {
            throw JOSEError.unsupported("enc \(JOSEError.quote(enc)) is not supported")
        }
        return (algorithm, encryption)
    }

    /// A header as strings: string members as they are, other members as compact sorted JSON text.
    static func flatten(_ header: JOSEHeader) -> [String: String] {
        var out: [String: String] = [:]
        for (name, value) in header {
            if let text = value.stringValue {
                out[name] = text
            } else if let json = try? value.canonicalJSON() {
                out[name] = String(decoding: json, as: UTF8.self)
            }
        }
        return out
    }

    /// An optional base64url string member (`apu`, `apv`), decoded.
    static func optionalBytes(_ header: JOSEHeader, _ name: String) throws -> Data {
        guard let value = header[name] else { return Data() }
        guard let text = value.stringValue, let data = Base64URL.decode(text) else {
            throw JOSEError.malformedJWE("\(name) is not a base64url string")
        }
        guard data.count <= 1024 else { throw JOSEError.malformedJWE("\(name) exceeds 1024 bytes") }
        return data
    }
}
