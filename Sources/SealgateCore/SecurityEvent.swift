import Foundation

/// A security-relevant event: attestation results, key grants and denials, policy changes, mock evidence seen,
/// audit log recovery, refused credentials. Carries identifiers, codes and digests — never content.
public struct SecurityEvent: Sendable, Equatable {
    /// Reverse-DNS type, e.g. `dev.sealgate.key.denied`.
    public let type: String
    /// What it is about (a tenant, a resource), if anything.
    public let subject: String?
    public let time: Date
    /// Flat string attributes.
    public let data: [String: String]

    public init(type: String, subject: String? = nil, time: Date = Date(), data: [String: String] = [:]) {
        self.type = type
        self.subject = subject
        self.time = time
        self.data = data
    }
}

/// Where security events go. `emit` never blocks the caller and never throws: delivery problems are the
/// sink's to count and report.
public protocol SecurityEventSink: Sendable {
    func emit(_ event: SecurityEvent)
}

/// Drops events (tools and tests that do not care).
public struct NoSecurityEvents: SecurityEventSink {
    public init() {}
    public func emit(_ event: SecurityEvent) {}
}
