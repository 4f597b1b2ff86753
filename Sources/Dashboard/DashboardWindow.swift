/// Why a dashboard data request was refused: the module's one error type. ``code`` is a stable reason code.
public struct DashboardRefusal: Error, Sendable, Equatable {
    /// The reason code (`unknown_time_range`, `bucket_count_out_of_range`, `tenant_not_permitted`).
    public let code: String
    /// A sentence for the client: never content.
    public let detail: String

    /// The `range` parameter names no range this ring keeps.
    public static func unknownRange() -> DashboardRefusal {
        DashboardRefusal(code: "unknown_time_range", detail: "range must be one of: \(DashboardWindow.Range.allCases.map(\.rawValue).joined(separator: ", ")).")
    }

    /// The `buckets` parameter is not a whole number within the range's limit.
    public static func buckets(_ range: DashboardWindow.Range) -> DashboardRefusal {
        DashboardRefusal(code: "bucket_count_out_of_range", detail: "buckets must be a whole number from 1 to \(range.minutes) for range \(range.rawValue).")
    }

    /// A tenant credential asked for another tenant's figures.
    public static func foreignTenant() -> DashboardRefusal {
        DashboardRefusal(code: "tenant_not_permitted", detail: "A tenant credential sees its own tenant's figures only.")
    }
}

/// The time window of a dashboard data request: the last hour or day, cut into a number of buckets.
public struct DashboardWindow: Sendable, Equatable {
    /// The ranges the ring keeps.
    public enum Range: String, Sendable, CaseIterable {
        case hour
        case day

        /// Minutes in the range: also the most buckets one may ask for (one per minute).
        public var minutes: Int { self == .hour ? 60 : 1440 }
        /// Buckets when the request names none.
        public var defaultBuckets: Int { self == .hour ? 60 : 96 }
    }

    /// The range.
    public let range: Range
    /// How many buckets the range is cut into.
    public let buckets: Int

    /// Minutes per bucket (the last bucket ends at the current minute; the window is rounded up to whole buckets).
    public var minutesPerBucket: Int { (range.minutes + buckets - 1) / buckets }

    /// A window from the query parameters `range` (default `hour`) and `buckets` (default per range).
    /// - Throws: ``DashboardRefusal`` for an unknown range or a bucket count outside 1…minutes of the range.
    public init(range rawRange: String?, buckets rawBuckets: String?) throws(DashboardRefusal) {
        guard let range = Range(rawValue: rawRange ?? Range.hour.rawValue) else { throw .unknownRange() }
        var buckets = range.defaultBuckets
        if let rawBuckets {
            guard rawBuckets.count <= 5, rawBuckets.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(rawBuckets), (1...range.minutes).contains(value) else {
                throw .buckets(range)
            }
            buckets = value
        }
        self.range = range
        self.buckets = buckets
    }

    /// The tenant whose figures a caller may see: a tenant caller always its own (naming another is refused), an
    /// operator-level caller (`callerTenant` nil) the one it names, or all.
    public static func scope(callerTenant: String?, requested: String?) throws(DashboardRefusal) -> String? {
        guard let callerTenant else { return requested.flatMap { $0.isEmpty ? nil : $0 } }
        if let requested, !requested.isEmpty, requested != callerTenant { throw .foreignTenant() }
        return callerTenant
    }
}
