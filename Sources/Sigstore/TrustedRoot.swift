import Foundation

/// A Sigstore trusted root (`dev.sigstore.trustroot.v1.TrustedRoot`, media type
/// `application/vnd.dev.sigstore.trustedroot+json;version=0.1`): the transparency logs, certificate authorities,
/// CT logs and timestamp authorities a verifier trusts, each with the window in which it may be used.
public struct TrustedRoot: Sendable {
    /// A time window; `end` nil means open-ended.
    public struct Validity: Sendable, Equatable {
        public let start: Date
        public let end: Date?
        /// Whether `time` falls inside the window (both ends included).
        public func contains(_ time: Date) -> Bool { time >= start && (end.map { time <= $0 } ?? true) }
    }

    /// A transparency log or CT log: its key and id.
    public struct Log: Sendable {
        public let baseURL: String
        /// SHA-256 of the DER SubjectPublicKeyInfo (the log id).
        public let logID: Data
        public let key: SigstoreKey
        public let validity: Validity
    }

    /// A Fulcio CA or a timestamp authority: a certificate chain, leaf or intermediate first, root last.
    public struct Authority: Sendable {
        public let uri: String
        /// DER certificates, as listed (for a TSA the first is the signing certificate).
        public let chain: [Data]
        public let validity: Validity
    }

    public let tlogs: [Log]
    public let ctlogs: [Log]
    public let certificateAuthorities: [Authority]
    public let timestampAuthorities: [Authority]

    /// Parses a trusted root.
    /// - Throws: ``SigstoreError`` `malformed_trusted_root` when it is not JSON or not a trusted root, or a key or
    ///   certificate in it cannot be read.
    public init(json: Data) throws {
        let wire: Wire
        do { wire = try JSONDecoder().decode(Wire.self, from: json) } catch {
            throw SigstoreError(.malformedTrustedRoot, "not a trusted root: \(SigstoreBundle.describe(error))")
        }
        guard wire.mediaType.hasPrefix("application/vnd.dev.sigstore.trustedroot") else {
            throw SigstoreError(.malformedTrustedRoot, "unknown trusted root media type '\(wire.mediaType)'")
        }
        tlogs = try (wire.tlogs ?? []).map(Self.log)
        ctlogs = try (wire.ctlogs ?? []).map(Self.log)
        certificateAuthorities = try (wire.certificateAuthorities ?? []).map(Self.authority)
        timestampAuthorities = try (wire.timestampAuthorities ?? []).map(Self.authority)
    }

    /// The transparency log with this id.
    public func tlog(id: Data) -> Log? { tlogs.first { $0.logID == id } }

    private static func log(_ w: Wire.Log) throws -> Log {
        guard let raw = w.publicKey.rawBytes, let start = w.publicKey.validFor?.start else {
            throw SigstoreError(.malformedTrustedRoot, "log \(w.baseUrl) has no key or no start of validity")
        }
        let der = try B64.decode(raw, "publicKey.rawBytes", .malformedTrustedRoot)
        let key: SigstoreKey
        do { key = try SigstoreKey(spki: der, details: w.publicKey.keyDetails) } catch {
            throw SigstoreError(.malformedTrustedRoot, "log \(w.baseUrl): key cannot be read")
        }
        return Log(
            baseURL: w.baseUrl, logID: try B64.decode(w.logId.keyId, "logId.keyId", .malformedTrustedRoot), key: key,
            validity: try validity(start: start, end: w.publicKey.validFor?.end))
    }

    private static func authority(_ w: Wire.Authority) throws -> Authority {
        guard let start = w.validFor?.start else {
            throw SigstoreError(.malformedTrustedRoot, "authority \(w.uri ?? "?") has no start of validity")
        }
        let chain = try w.certChain.certificates.map { try B64.decode($0.rawBytes, "certChain", .malformedTrustedRoot) }
        guard !chain.isEmpty else { throw SigstoreError(.malformedTrustedRoot, "authority \(w.uri ?? "?") has no certificates") }
        return Authority(uri: w.uri ?? "", chain: chain, validity: try validity(start: start, end: w.validFor?.end))
    }

    private static func validity(start: String, end: String?) throws -> Validity {
        guard let s = RFC3339.date(start) else { throw SigstoreError(.malformedTrustedRoot, "bad time '\(start)'") }
        guard let end else { return Validity(start: s, end: nil) }
        guard let e = RFC3339.date(end) else { throw SigstoreError(.malformedTrustedRoot, "bad time '\(end)'") }
        return Validity(start: s, end: e)
    }

    struct Wire: Decodable {
        struct Window: Decodable { let start: String?; let end: String? }
        struct Key: Decodable { let rawBytes: String?; let keyDetails: String?; let validFor: Window? }
        struct LogID: Decodable { let keyId: String }
        struct Log: Decodable { let baseUrl: String; let publicKey: Key; let logId: LogID }
        struct RawBytes: Decodable { let rawBytes: String }
        struct Chain: Decodable { let certificates: [RawBytes] }
        struct Authority: Decodable { let uri: String?; let certChain: Chain; let validFor: Window? }
        let mediaType: String
        let tlogs: [Log]?
        let certificateAuthorities: [Authority]?
        let ctlogs: [Log]?
        let timestampAuthorities: [Authority]?
    }
}

/// RFC 3339 times of the trusted root (with or without fractional seconds).
enum RFC3339 {
    static func date(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let d = plain.date(from: text) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
