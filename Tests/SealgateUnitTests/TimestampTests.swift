import Foundation
import SealgateCore
import Testing

@Suite("Audit timestamps: RFC 3339 UTC with milliseconds")
struct TimestampTests {
    /// Foundation's formatter, which the fast path replaced; it is the reference.
    static func reference(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    @Test("Known instants, leap days, century rules and the epoch's negative side")
    func knownAnswers() {
        let cases: [(Double, String)] = [
            (0, "1970-01-01T00:00:00.000Z"),
            (-0.001, "1969-12-31T23:59:59.999Z"),
            (-86_400, "1969-12-31T00:00:00.000Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (4_107_542_400, "2100-03-01T00:00:00.000Z"),
            (1_700_000_000.123, "2023-11-14T22:13:20.123Z"),
            (1_795_780_753.5, "2026-11-27T11:59:13.500Z"),
            (-2_208_988_800, "1900-01-01T00:00:00.000Z"),
            (253_402_300_799.999, "9999-12-31T23:59:59.999Z"),
        ]
        for (seconds, text) in cases {
            #expect(AuditRecord.timestamp(Date(timeIntervalSince1970: seconds)) == text, "\(seconds)")
        }
    }

    @Test("Agrees with Foundation's ISO 8601 formatter on whole milliseconds across four centuries")
    func agreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            // Whole milliseconds: how a sub-millisecond remainder is rounded is not part of the format.
            let millis = Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            #expect(AuditRecord.timestamp(date) == Self.reference(date), "\(millis)")
        }
    }
}
