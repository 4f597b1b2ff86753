/// A stable, string-coded value — reason codes, TEE types, vendor statuses: compared, hashed and encoded (as a
/// single JSON string) by its text, and open to values this build does not name.
///
/// The one mechanism behind ``ReasonCode`` and the attestation and broker codes: a conforming type declares
/// `rawValue` and `init(_:)`, and gets its description and `Codable` from here.
public protocol StringCode: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The code's text.
    var rawValue: String { get }
    /// Wraps a code's text.
    init(_ rawValue: String)
}

extension StringCode {
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
