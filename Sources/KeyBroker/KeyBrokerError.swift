@_exported import KBSProtocol
import Attestation
import Foundation
import ReleasePolicy
import SealgateCore

/// The key broker's error: malformed input and failed dependencies only. Denials are ``ReleaseDecision`` values.
public struct KeyBrokerError: Error, Sendable, CustomStringConvertible {
    public let reason: BrokerReason
    public let message: String
    /// Every problem of an operations-policy file, with its path (empty otherwise).
    public let problems: [String]
    public init(_ reason: BrokerReason, _ message: String) {
        self.reason = reason
        self.message = message
        self.problems = []
    }
    /// An operations-policy file that does not validate.
    public init(problems: [String]) {
        self.reason = .malformedRequest
        self.message = problems.joined(separator: "; ")
        self.problems = problems
    }
    public var description: String { "\(reason.rawValue): \(message)" }
}

extension ResourcePath {
    /// The generic KBS reference of this path.
    public var ref: ResourceRef { ResourceRef(repository: tenant.rawValue, type: "kek", tag: dataClass.rawValue) }
}

extension ReleaseDecision {
    static func deny(_ reason: BrokerReason, _ rule: String, _ result: AttestationResult? = nil) -> ReleaseDecision {
        ReleaseDecision(allowed: false, reason: reason, rule: rule, result: result)
    }
}
