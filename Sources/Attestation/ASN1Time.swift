import Foundation
import SwiftASN1

/// X.509 times (UTCTime or GeneralizedTime) as `Date`, for the certificates and CRLs parsed with SwiftASN1.
public enum ASN1Time {
    /// The date of a UTCTime or GeneralizedTime node.
    /// - Throws: ``AttestationError`` `malformed_evidence` for anything else or an impossible date.
    public static func date(_ node: ASN1Node) throws -> Date {
        var c = DateComponents()
        c.timeZone = TimeZone(identifier: "UTC")
        do {
            if node.identifier == .utcTime {
                let t = try UTCTime(derEncoded: node)
                (c.year, c.month, c.day, c.hour, c.minute, c.second) = (t.year, t.month, t.day, t.hours, t.minutes, t.seconds)
            } else {
                let t = try GeneralizedTime(derEncoded: node)
                (c.year, c.month, c.day, c.hour, c.minute, c.second) = (t.year, t.month, t.day, t.hours, t.minutes, t.seconds)
            }
        } catch {
            throw AttestationError(.malformedEvidence, "not an X.509 time")
        }
        guard let date = Calendar(identifier: .gregorian).date(from: c) else {
            throw AttestationError(.malformedEvidence, "impossible X.509 time")
        }
        return date
    }

    /// Whether `date` lies in `[issued, next]` given as RFC 3339 text (Intel PCS collateral windows).
    public static func isCurrent(issueDate: String, nextUpdate: String, at date: Date) -> Bool {
        let formatter = ISO8601DateFormatter()
        guard let issued = formatter.date(from: issueDate), let next = formatter.date(from: nextUpdate) else { return false }
        return issued <= date && date <= next
    }
}
