import Attestation

/// A key-broker resource, `<repository>/<type>/<tag>` (for example `acme/kek/restricted` or `acme/secret/hmac`).
///
/// Encoded as its path string.
public struct ResourceRef: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The first segment; for Sealgate resources, the tenant.
    public let repository: String
    /// The second segment: `kek`, `secret`, ...
    public let type: String
    /// The third segment; for `kek` resources, the data class.
    public let tag: String

    /// The longest segment accepted.
    public static let maxSegmentLength = 64

    /// Parses a resource path: exactly three non-empty segments of `[A-Za-z0-9._-]`, at most 64 characters each,
    /// none containing `..` and none equal to `.`; `nil` otherwise.
    public init?(path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts.allSatisfy(Self.isValidSegment) else { return nil }
        self.init(repository: parts[0], type: parts[1], tag: parts[2])
    }

    /// Wraps segments without checking them; use ``init(path:)`` for untrusted input.
    public init(repository: String, type: String, tag: String) {
        self.repository = repository
        self.type = type
        self.tag = tag
    }

    /// Whether `segment` is a valid path segment.
    public static func isValidSegment(_ segment: String) -> Bool {
        let scalars = segment.unicodeScalars
        guard (1...maxSegmentLength).contains(scalars.count), segment != ".", !segment.contains("..") else { return false }
        return scalars.allSatisfy { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "." || s == "_" || s == "-"
        }
    }

    /// `<repository>/<type>/<tag>`.
    public var description: String { "\(repository)/\(type)/\(tag)" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = ResourceRef(path: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a resource path <repository>/<type>/<tag> of [A-Za-z0-9._-]")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// What a release policy is evaluated over: the attestation result of the requesting TEE and the resource it asks for.
public struct ReleaseRequest: Sendable {
    /// The appraisal of the requester's evidence.
    public var result: AttestationResult
    /// The requested resource.
    public var resource: ResourceRef
    /// The model digest registered with the resource (`model.digest`: for a model key, the digest of the signed
    /// OMS manifest it unlocks), when the resource has one.
    public var modelDigest: String?

    /// Creates a request.
    public init(result: AttestationResult, resource: ResourceRef, modelDigest: String? = nil) {
        self.result = result
        self.resource = resource
        self.modelDigest = modelDigest
    }
}
