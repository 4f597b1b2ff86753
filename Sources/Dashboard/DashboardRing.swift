import Foundation
import Synchronization

/// A bounded in-memory ring of one-minute buckets of counter increments, fed from the same calls that increment
/// the process's Prometheus counters. The dashboards read it instead of re-reading the audit log.
///
/// Bounds: ``capacity`` buckets (24 hours); at most ``maxSeries`` distinct label sets over the ring's life
/// (increments of further label sets are counted in ``DashboardSnapshot/overflow``, never stored); label
/// values longer than 64 bytes are cut. Nothing but metric names and label values (reason codes, tenant ids,
/// class names, routes) is kept: never content.
public final class DashboardRing: Sendable {
    /// Seconds per bucket.
    public static let bucketSeconds = 60
    /// Buckets kept: one day of minutes.
    public static let capacity = 1440
    /// Distinct (metric, labels) series kept.
    public static let maxSeries = 4096

    struct Bucket {
        var minute = Int64.min
        var counts: [Int: Int] = [:]
        var overflow = 0
    }

    struct State {
        var buckets = [Bucket](repeating: Bucket(), count: DashboardRing.capacity)
        var ids: [String: Int] = [:]
        var series: [Series] = []
        var started: Int64
    }

    struct Series {
        var metric: String
        var labels: [String: String]
    }

    private let state: Mutex<State>
    /// The ring's clock.
    public let now: @Sendable () -> Date

    /// Creates an empty ring on `now`'s clock.
    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
        state = Mutex(State(started: Self.minute(of: now())))
    }

    static func minute(of date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / Double(bucketSeconds)).rounded(.down))
    }

    static func key(_ metric: String, _ labels: [(String, String)]) -> String {
        ([metric] + labels.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1F}")
    }

    /// Adds `amount` to the series `metric{labels}` in the current minute's bucket.
    public func record(_ metric: String, labels: [(String, String)], amount: Int) {
        guard amount > 0 else { return }
        let minute = Self.minute(of: now())
        let labels = labels.map { ($0.0, String(decoding: $0.1.utf8.prefix(64), as: UTF8.self)) }
        let key = Self.key(metric, labels)
        state.withLock { state in
            let slot = Int(((minute % Int64(Self.capacity)) + Int64(Self.capacity)) % Int64(Self.capacity))
            if state.buckets[slot].minute != minute { state.buckets[slot] = Bucket(minute: minute) }
            let id: Int
            if let known = state.ids[key] {
                id = known
            } else if state.series.count < Self.maxSeries {
                id = state.series.count
                state.ids[key] = id
                state.series.append(Series(metric: metric, labels: Dictionary(labels, uniquingKeysWith: { $1 })))
            } else {
                state.buckets[slot].overflow += amount
                return
            }
            state.buckets[slot].counts[id, default: 0] += amount
        }
    }

    /// The series of the window ending now, each as `window.buckets` points; with `tenant`, only series whose
    /// `tenant` label is that tenant (series without a tenant label are another scope and are left out).
    public func snapshot(_ window: DashboardWindow, tenant: String?) -> DashboardSnapshot {
        let end = Self.minute(of: now())
        let width = Int64(window.minutesPerBucket)
        let first = end - width * Int64(window.buckets) + 1
        return state.withLock { state in
            var points: [Int: [Int]] = [:]
            var overflow = 0
            for minute in first...end {
                let slot = Int(((minute % Int64(Self.capacity)) + Int64(Self.capacity)) % Int64(Self.capacity))
                let bucket = state.buckets[slot]
                guard bucket.minute == minute else { continue }
                let index = Int((minute - first) / width)
                overflow += bucket.overflow
                for (id, count) in bucket.counts {
                    if let tenant, state.series[id].labels["tenant"] != tenant { continue }
                    points[id, default: [Int](repeating: 0, count: window.buckets)][index] += count
                }
            }
            let series = points.map { id, values in
                DashboardSeries(metric: state.series[id].metric, labels: state.series[id].labels, total: values.reduce(0, +), points: values)
            }.sorted { ($0.metric, $1.total, $0.key) < ($1.metric, $0.total, $1.key) }
            let start = Date(timeIntervalSince1970: Double(first * Int64(Self.bucketSeconds)))
            return DashboardSnapshot(
                start: start, bucketSeconds: window.minutesPerBucket * Self.bucketSeconds, series: series,
                overflow: tenant == nil ? overflow : 0, coversWindow: state.started <= first)
        }
    }
}

/// One series of a snapshot.
public struct DashboardSeries: Sendable, Encodable, Equatable {
    /// The counter's name, e.g. `sealgate_denials_total`.
    public let metric: String
    /// Its labels.
    public let labels: [String: String]
    /// The sum of ``points``.
    public let total: Int
    /// Increments per bucket, oldest first.
    public let points: [Int]

    var key: String { DashboardRing.key(metric, labels.map { ($0.key, $0.value) }) }
}

/// What ``DashboardRing/snapshot(_:tenant:)`` returns.
public struct DashboardSnapshot: Sendable, Equatable {
    /// The start of the first bucket.
    public let start: Date
    /// Seconds per returned bucket.
    public let bucketSeconds: Int
    /// Series with at least one increment in the window.
    public let series: [DashboardSeries]
    /// Increments of label sets over ``DashboardRing/maxSeries`` (whole-process view only).
    public let overflow: Int
    /// Whether the process was already counting at the window's start.
    public let coversWindow: Bool
}
