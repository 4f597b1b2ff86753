import Foundation

/// A JSON value, so JOSE headers can carry objects such as `epk` as well as strings.
package enum JSONValue: Codable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The string, when this is one.
    package var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Compact JSON with sorted keys and unescaped slashes.
    package func canonicalJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// A JOSE header: a JSON object.
package typealias JOSEHeader = [String: JSONValue]

extension JWK {
    /// This JWK as a JSON object (used for `epk`).
    var jsonObject: JSONValue {
        var object: [String: JSONValue] = ["kty": .string(kty)]
        let members: [(String, String?)] = [
            ("crv", crv), ("x", x), ("y", y), ("d", d), ("n", n), ("e", e), ("p", p), ("q", q),
            ("dp", dp), ("dq", dq), ("qi", qi), ("k", k), ("alg", alg), ("kid", kid), ("use", use),
        ]
        for (name, value) in members {
            if let value { object[name] = .string(value) }
        }
        return .object(object)
    }

    /// Reads a JWK from a header's JSON object; only string members are taken.
    init(jsonObject value: JSONValue) throws {
        guard case .object(let object) = value else { throw JOSEError.malformedJWE("epk is not a JSON object") }
        func member(_ name: String) throws -> String? {
            guard let entry = object[name] else { return nil }
            guard let text = entry.stringValue else {
                throw JOSEError.malformedJWE("epk member \(name) is not a string")
            }
            return text
        }
        guard let kty = try member("kty") else { throw JOSEError.malformedJWE("epk has no kty") }
        self.init(kty: kty)
        crv = try member("crv")
        x = try member("x")
        y = try member("y")
        d = try member("d")
        n = try member("n")
        e = try member("e")
        k = try member("k")
        kid = try member("kid")
    }
}
