import Foundation

/// The body of `GET /dashboard/data`: the window, the series from the ring, the top denial reasons with their
/// meaning, and point-in-time facts of the process (lease, audit log). Figures and codes only, never content.
public struct DashboardData: Sendable, Encodable {
    /// A number or text the page shows as it is (e.g. "lease valid until").
    public struct Fact: Sendable, Encodable, Equatable {
        /// A stable identifier (`lease_valid_until`, `audit_size`, …).
        public let key: String
        /// The page's caption.
        public let label: String
        /// The value, as shown.
        public let value: String
        /// Creates a fact.
        public init(key: String, label: String, value: String) {
            self.key = key
            self.label = label
            self.value = value
        }
    }

    /// One denial reason over the window, with its meaning.
    public struct Reason: Sendable, Encodable, Equatable {
        /// The reason code.
        public let reason: String
        /// Refusals with it in the window.
        public let count: Int
        /// One sentence (``ReasonCatalog``).
        public let meaning: String
        /// The document section that explains it.
        public let section: String
    }

    /// `gateway` or `broker`.
    public let process: String
    /// `all`, or the tenant whose series these are.
    public let scope: String
    /// `hour` or `day`.
    public let range: String
    /// Buckets in the window.
    public let buckets: Int
    /// Seconds per bucket.
    public let bucketSeconds: Int
    /// The start of the first bucket (RFC 3339).
    public let start: String
    /// When the body was made (RFC 3339).
    public let generatedAt: String
    /// Whether the process was counting for the whole window.
    public let coversWindow: Bool
    /// Increments not kept because the ring's series bound was reached.
    public let overflow: Int
    /// The series with increments in the window.
    public let series: [DashboardSeries]
    /// Denial reasons in the window, most frequent first.
    public let reasons: [Reason]
    /// Point-in-time facts of the process.
    public let facts: [Fact]

    enum CodingKeys: String, CodingKey {
        case process, scope, range, buckets, start, overflow, series, reasons, facts
        case bucketSeconds = "bucket_seconds"
        case generatedAt = "generated_at"
        case coversWindow = "covers_window"
    }

    /// Assembles the body from a snapshot: `process` is `gateway` or `broker`, `tenant` the scope (nil: all).
    public init(process: String, tenant: String?, window: DashboardWindow, snapshot: DashboardSnapshot, facts: [Fact], now: Date) {
        self.process = process
        scope = tenant ?? "all"
        range = window.range.rawValue
        buckets = window.buckets
        bucketSeconds = snapshot.bucketSeconds
        start = Self.timestamp(snapshot.start)
        generatedAt = Self.timestamp(now)
        coversWindow = snapshot.coversWindow
        overflow = snapshot.overflow
        series = snapshot.series
        self.facts = facts
        var counts: [String: Int] = [:]
        for series in snapshot.series {
            guard let reason = series.labels["reason"], Self.isDenial(series) else { continue }
            counts[reason, default: 0] += series.total
        }
        reasons = counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map {
            let entry = ReasonCatalog.entry($0.key)
            return Reason(reason: $0.key, count: $0.value, meaning: entry.meaning, section: entry.section)
        }
    }

    /// Whether a series counts refusals: every denial, a denied key release, an attestation that did not pass,
    /// a refused admin action, a listener refusal.
    static func isDenial(_ series: DashboardSeries) -> Bool {
        switch series.metric {
        case "sealgate_denials_total", "sealgate_connections_refused_total": return true
        case "sealgate_key_release_total": return series.labels["decision"] == "denied"
        case "sealgate_attestation_total": return series.labels["reason"] != "granted"
        case "sealgate_admin_actions_total": return series.labels["outcome"] == "denied"
        default: return false
        }
    }

    /// RFC 3339 UTC, seconds.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
