import Foundation

/// A validated identifier: tenants, principals, collections, data classes and model profiles share its rules.
///
/// Identifiers are 1–64 characters of lowercase ASCII letters, digits, `-` and `_`, starting with a
/// letter or digit. They are safe to log, to put in metric labels and to bind into AAD.
public protocol ValidatedIdentifier: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The identifier's text.
    var rawValue: String { get }
    /// Creates the identifier, or returns `nil` when `rawValue` breaks the rules.
    init?(_ rawValue: String)
    /// Wraps text already known to be valid.
    init(unchecked rawValue: String)
}

extension ValidatedIdentifier {
    /// Whether `text` is a well-formed identifier.
    public static func isValid(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard (1...64).contains(scalars.count), let first = scalars.first else { return false }
        func allowed(_ s: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(s) || ("0"..."9").contains(s) || s == "-" || s == "_"
        }
        guard ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return scalars.allSatisfy(allowed)
    }

    public init?(_ rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.init(unchecked: rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard Self.isValid(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a valid identifier (1-64 of a-z, 0-9, '-', '_')")
        }
        self.init(unchecked: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A tenant: the unit of isolation. Every key, document and index belongs to exactly one tenant.
public struct TenantID: ValidatedIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A principal (an application or user credential) inside a tenant.
public struct PrincipalID: ValidatedIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A named collection of documents inside a tenant.
public struct CollectionName: ValidatedIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A data class such as `public` or `restricted`; it selects the KEK, model rules and redaction profile.
public struct DataClass: ValidatedIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A model profile name (`extractive`, `upstream-llama`, ...).
public struct ModelProfileID: ValidatedIdentifier {
    public let rawValue: String
    public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A document identifier inside a collection: 1–128 characters of ASCII letters, digits, `.`, `-`, `_`.
public struct DocumentID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// Creates the identifier, or returns `nil` when `rawValue` is not a valid document id.
    public init?(_ rawValue: String) {
        let scalars = rawValue.unicodeScalars
        guard (1...128).contains(scalars.count),
            scalars.allSatisfy({ s in
                ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
                    || s == "-" || s == "_" || s == "."
            }),
            rawValue != ".", rawValue != ".."
        else { return nil }
        self.rawValue = rawValue
    }

    /// Wraps text already known to be valid.
    public init(unchecked rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = DocumentID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a valid document id")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
